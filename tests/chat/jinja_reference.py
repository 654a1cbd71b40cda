#!/usr/bin/env python3
"""Reference renderer for the chat-template tests: Jinja2 configured as Hugging Face
transformers configures it for chat templates.

Reads one JSON request on stdin:
  {"now": "2024-09-03T10:30:00", "cases": [{"template": "...", "context": {...}}, ...]}
and writes one JSON answer on stdout:
  {"jinja2": "3.1.2", "results": [{"ok": true, "output": "..."} | {"ok": false, "error": "..."}]}

Variables absent from a case's context are undefined in the template (not None).
"""
import datetime
import json
import sys

import jinja2
from jinja2 import nodes
from jinja2.ext import Extension, loopcontrols
from jinja2.sandbox import ImmutableSandboxedEnvironment


class GenerationTag(Extension):
    """{% generation %}...{% endgeneration %} marks assistant text for training masks; when
    rendering a prompt it is transparent."""

    tags = {"generation"}

    def parse(self, parser):
        next(parser.stream)
        body = parser.parse_statements(["name:endgeneration"], drop_needle=True)
        return nodes.Scope(body)


def make_env(now):
    def raise_exception(message):
        raise jinja2.exceptions.TemplateError(message)

    def tojson(x, ensure_ascii=False, indent=None, separators=None, sort_keys=False):
        # As transformers: json.dumps, without Jinja2's HTML-safe escaping.
        return json.dumps(x, ensure_ascii=ensure_ascii, indent=indent, separators=separators, sort_keys=sort_keys)

    def strftime_now(fmt):
        return now.strftime(fmt)

    env = ImmutableSandboxedEnvironment(trim_blocks=True, lstrip_blocks=True,
                                        extensions=[GenerationTag, loopcontrols])
    env.filters["tojson"] = tojson
    env.globals["raise_exception"] = raise_exception
    env.globals["strftime_now"] = strftime_now
    return env


def main():
    request = json.load(sys.stdin)
    now = datetime.datetime.fromisoformat(request.get("now", "2024-09-03T10:30:00"))
    env = make_env(now)
    results = []
    compiled = {}
    for case in request["cases"]:
        try:
            source = case["template"]
            if source not in compiled:
                compiled[source] = env.from_string(source)
            template = compiled[source]
            results.append({"ok": True, "output": template.render(**case.get("context", {}))})
        except Exception as e:  # noqa: BLE001 - every failure is an expected-error answer
            results.append({"ok": False, "error": f"{type(e).__name__}: {e}"})
    json.dump({"jinja2": jinja2.__version__, "results": results}, sys.stdout)


if __name__ == "__main__":
    main()
