#!/usr/bin/env python3
"""Check catalog/catalog.schema.json against the shipped catalog and the
table of cases (tests/catalog/cases.json), and the worker's validator
against the same table.

    python3 tests/catalog/check_schema.py [--worker BUILD/worker/orch-worker]

* catalog/default.json and every valid case validate against the schema;
* every invalid case the schema can express ("schema": true) is refused by
  it; the ones it cannot ("schema": false: a field given twice, two entries
  with one name, a market without an entry, timeout_seconds 1-4) pass it --
  so the table says exactly what only the worker checks;
* with --worker, `orch-worker --check-catalog` accepts the valid cases and
  refuses each invalid one with the table's exact message.

Python's standard library has no JSON Schema validator: this is one for the
keywords the schema uses, and it refuses a keyword it does not know (so the
schema cannot grow past what is checked here).  Exit 0 when all agree.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import subprocess
import sys
import tempfile
from pathlib import Path

TOP = Path(__file__).resolve().parents[2]
ANNOTATIONS = {"$schema", "$id", "title", "description", "default", "$comment"}
KNOWN = ANNOTATIONS | {"type", "properties", "required", "additionalProperties", "enum", "pattern", "minLength",
                       "maxLength", "minimum", "maximum", "exclusiveMinimum", "items", "uniqueItems", "minItems",
                       "maxItems", "$ref", "$defs"}


class Invalid(Exception):
    pass


def type_ok(v, t: str) -> bool:
    if t == "object":
        return isinstance(v, dict)
    if t == "array":
        return isinstance(v, list)
    if t == "string":
        return isinstance(v, str)
    if t == "boolean":
        return isinstance(v, bool)
    if t == "integer":
        return isinstance(v, int) and not isinstance(v, bool) or (isinstance(v, float) and v.is_integer())
    if t == "number":
        return isinstance(v, (int, float)) and not isinstance(v, bool)
    raise Invalid(f"schema: unknown type {t}")


def validate(v, s: dict, root: dict, at: str = "$") -> None:
    """Raise Invalid naming the first place where v breaks schema s."""
    unknown = set(s) - KNOWN
    if unknown:
        raise Invalid(f"schema keyword(s) not supported here: {sorted(unknown)}")
    if "$ref" in s:
        ref = s["$ref"]
        if not ref.startswith("#/$defs/"):
            raise Invalid(f"schema: unsupported $ref {ref}")
        validate(v, root["$defs"][ref[len("#/$defs/"):]], root, at)
    if "type" in s and not type_ok(v, s["type"]):
        raise Invalid(f"{at}: not of type {s['type']}")
    if "enum" in s and not any(v == e and type(v) is type(e) for e in s["enum"]):
        raise Invalid(f"{at}: not one of {s['enum']}")
    if isinstance(v, str):
        if "minLength" in s and len(v) < s["minLength"]:
            raise Invalid(f"{at}: shorter than {s['minLength']}")
        if "maxLength" in s and len(v) > s["maxLength"]:
            raise Invalid(f"{at}: longer than {s['maxLength']}")
        if "pattern" in s and not re.search(s["pattern"], v):
            raise Invalid(f"{at}: does not match {s['pattern']}")
    if isinstance(v, (int, float)) and not isinstance(v, bool):
        if "minimum" in s and v < s["minimum"]:
            raise Invalid(f"{at}: below {s['minimum']}")
        if "maximum" in s and v > s["maximum"]:
            raise Invalid(f"{at}: above {s['maximum']}")
        if "exclusiveMinimum" in s and v <= s["exclusiveMinimum"]:
            raise Invalid(f"{at}: not above {s['exclusiveMinimum']}")
    if isinstance(v, list):
        if "minItems" in s and len(v) < s["minItems"]:
            raise Invalid(f"{at}: fewer than {s['minItems']} items")
        if "maxItems" in s and len(v) > s["maxItems"]:
            raise Invalid(f"{at}: more than {s['maxItems']} items")
        if s.get("uniqueItems") and len({json.dumps(x, sort_keys=True) for x in v}) != len(v):
            raise Invalid(f"{at}: items not unique")
        for i, x in enumerate(v):
            if "items" in s:
                validate(x, s["items"], root, f"{at}[{i}]")
    if isinstance(v, dict):
        for k in s.get("required", []):
            if k not in v:
                raise Invalid(f"{at}: {k} required")
        props = s.get("properties", {})
        for k, x in v.items():
            if k in props:
                validate(x, props[k], root, f"{at}.{k}")
            elif s.get("additionalProperties") is False:
                raise Invalid(f"{at}: {k} not allowed")


def case_text(c: dict) -> str:
    return c["text"] if c["text"] is not None else json.dumps(c["catalog"], ensure_ascii=False)


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--worker", help="orch-worker to check against the same table")
    args = ap.parse_args()
    schema = json.loads((TOP / "catalog" / "catalog.schema.json").read_text())
    cases = json.loads((TOP / "tests" / "catalog" / "cases.json").read_text())
    bad = 0

    def fail(msg: str) -> None:
        nonlocal bad
        bad += 1
        print(f"not ok - {msg}")

    try:
        validate(json.loads((TOP / "catalog" / "default.json").read_text()), schema, schema)
        print("ok - catalog/default.json validates against the schema")
    except Invalid as e:
        fail(f"catalog/default.json: {e}")
    for c in cases:
        try:
            doc = json.loads(case_text(c))
        except ValueError:
            doc = None                        # not JSON: no schema question
        verdict = None
        if doc is not None:
            try:
                validate(doc, schema, schema)
                verdict = "valid"
            except Invalid as e:
                verdict = f"invalid ({e})"
        want_valid = c["error"] is None or not c["schema"]
        if doc is None:
            if c["error"] is None:
                fail(f"{c['case']}: a valid case that is not JSON")
        elif want_valid != (verdict == "valid"):
            fail(f"schema, {c['case']}: expected {'valid' if want_valid else 'invalid'}, got {verdict}")
    print(f"ok - the schema agrees with {len(cases)} cases of tests/catalog/cases.json" if not bad else
          "# the schema disagrees with the table")
    if args.worker:
        with tempfile.TemporaryDirectory() as d:
            for c in cases:
                Path(d, "catalog.json").write_text(case_text(c))
                r = subprocess.run([os.path.abspath(args.worker), "--check-catalog", "catalog.json"], cwd=d, capture_output=True,
                                   text=True, env=dict(os.environ, LOG_LEVEL="error"))
                got = None if r.returncode == 0 else r.stderr.strip()
                if got != c["error"]:
                    fail(f"worker, {c['case']}: expected {c['error']!r}, got {got!r}")
        if not bad:
            print(f"ok - orch-worker --check-catalog gives the table's verdict and message for {len(cases)} cases")
    print(f"{'all agree' if not bad else f'{bad} disagreement(s)'}")
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
