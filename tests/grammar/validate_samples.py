#!/usr/bin/env python3
"""Validates generated texts against their JSON Schemas with a real validator (python3-jsonschema).

Usage: validate_samples.py SAMPLES.json
SAMPLES.json is a list of {"schema": "<path of the schema file>", "text": "<generated text>"}.
Each text must parse as JSON (strictly: no NaN, no trailing data) and validate against its schema,
formats included (jsonschema's FormatChecker, plus the standard library for date-time and time,
which jsonschema checks only with optional packages). Prints every failure; exit status 1 if any.
"""
import datetime
import json
import sys
import uuid

import jsonschema


def check_formats(schema, instance, errors, path="$"):
    """Formats that jsonschema may skip (missing optional packages), checked with the stdlib."""
    if isinstance(schema, dict):
        fmt = schema.get("format")
        if isinstance(instance, str) and fmt in ("date-time", "time", "date", "uuid"):
            try:
                if fmt == "date-time":
                    datetime.datetime.fromisoformat(instance)
                elif fmt == "time":
                    datetime.time.fromisoformat(instance)
                elif fmt == "date":
                    datetime.date.fromisoformat(instance)
                else:
                    uuid.UUID(instance)
            except ValueError as e:
                errors.append(f"{path}: {instance!r} is not a valid {fmt}: {e}")


def main():
    samples = json.load(open(sys.argv[1], encoding="utf-8"))
    failures = 0
    for s in samples:
        schema = json.load(open(s["schema"], encoding="utf-8"))
        text = s["text"]
        errors = []
        try:
            instance = json.loads(text, parse_constant=lambda c: (_ for _ in ()).throw(ValueError(c)))
        except ValueError as e:
            print(f"FAIL {s['schema']}: not JSON ({e}): {text!r}")
            failures += 1
            continue
        cls = jsonschema.validators.validator_for(schema, default=jsonschema.Draft202012Validator)
        validator = cls(schema, format_checker=cls.FORMAT_CHECKER if hasattr(cls, "FORMAT_CHECKER") else jsonschema.FormatChecker())
        errors += [f"{list(e.absolute_path)}: {e.message}" for e in validator.iter_errors(instance)]
        check_strings(schema, instance, errors, schema)
        if errors:
            failures += 1
            print(f"FAIL {s['schema']}: {text!r}")
            for e in errors[:5]:
                print(f"    {e}")
    print(f"{len(samples) - failures}/{len(samples)} samples valid")
    return 1 if failures else 0


def check_strings(schema, instance, errors, root, path="$", depth=0):
    """Applies the stdlib format checks along properties/items (enough for the corpus)."""
    if depth > 64 or not isinstance(schema, dict):
        return
    if "$ref" in schema and schema["$ref"].startswith("#"):
        target = root
        for part in schema["$ref"][2:].split("/") if schema["$ref"] != "#" else []:
            target = target[part.replace("~1", "/").replace("~0", "~")]
        check_strings(target, instance, errors, root, path, depth + 1)
    check_formats(schema, instance, errors, path)
    for key in ("anyOf", "oneOf", "allOf"):
        for sub in schema.get(key, []):
            check_strings(sub, instance, errors, root, path, depth + 1)
    if isinstance(instance, dict):
        for k, v in instance.items():
            sub = schema.get("properties", {}).get(k, schema.get("additionalProperties"))
            check_strings(sub, v, errors, root, f"{path}.{k}", depth + 1)
    if isinstance(instance, list):
        prefix = schema.get("prefixItems", schema.get("items") if isinstance(schema.get("items"), list) else [])
        for i, v in enumerate(instance):
            sub = prefix[i] if i < len(prefix) else schema.get("items") if isinstance(schema.get("items"), dict) else None
            check_strings(sub, v, errors, root, f"{path}[{i}]", depth + 1)


if __name__ == "__main__":
    sys.exit(main())
