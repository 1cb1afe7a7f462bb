"""The dispatch table: prefix -> service class.  Add a class here to add a route."""

from __future__ import annotations

from .birdeye import Birdeye
from .dex import DexScreener
from .llm import Llm
from .n8n import N8n
from .pumpfun import PumpFun
from .telegram import Telegram
from .tradermade import TraderMade

SERVICES = [DexScreener, PumpFun, TraderMade, Birdeye, N8n, Llm, Telegram]
SERVICE_BY_NAME = {s.name: s for s in SERVICES}
