"""The stand-in's modules; the entry point is tests/standin/standin.py.

common      Request, Response, JSON helpers, ConfigError
behaviour   the Service base class: behaviour words (slow, 429, ...) and hostile answers
dex, pumpfun, tradermade, birdeye, n8n, llm, telegram
            one module per service the stand-in plays
registry    the dispatch table: prefix -> service class
config      every configuration key: its meaning, default and check
state       configuration, recorded requests, counters, random walks, sleep/release
app         routes a request to /_standin/* or to a service
server      the HTTP plumbing: bounded request reading, answering, logging
"""
