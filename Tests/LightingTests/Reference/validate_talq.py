#!/usr/bin/env python3
"""Validates Tests/LightingTests/Fixtures/talq_calendar.json against the TALQ 2.7.1 schema.

The TALQ data model is an OpenAPI 3.0.1 document; its schemas live under
components/schemas and reference each other as "#/components/schemas/X". We validate
each object against its component by wrapping the whole document as the root resource so
that those references resolve. OpenAPI-only keywords (discriminator, x-talq-*) are
ignored by jsonschema; formats are not asserted.

Usage: validate_talq.py [SCHEMA] [FIXTURE]   (defaults: ../shared/reference/talq/..., the fixture)
Exit 0 when valid, 1 with the errors printed otherwise. Needs jsonschema 4.26.0.
"""
import json
import pathlib
import sys

import jsonschema

HERE = pathlib.Path(__file__).resolve().parent
REPO = HERE.parents[2]
DEFAULT_SCHEMA = REPO.parent / "shared" / "reference" / "talq" / "talq-data-model-2.7.1.json"
DEFAULT_FIXTURE = HERE.parent / "Fixtures" / "talq_calendar.json"


def validator_for(document, component):
    schema = {"$ref": f"#/components/schemas/{component}", "components": document["components"]}
    return jsonschema.Draft7Validator(schema)


def main():
    schema_path = pathlib.Path(sys.argv[1]) if len(sys.argv) > 1 else DEFAULT_SCHEMA
    fixture_path = pathlib.Path(sys.argv[2]) if len(sys.argv) > 2 else DEFAULT_FIXTURE
    document = json.loads(schema_path.read_text())
    fixture = json.loads(fixture_path.read_text())
    errors = []
    for error in validator_for(document, "Calendar").iter_errors(fixture["calendar"]):
        errors.append(f"calendar: {error.json_path}: {error.message}")
    program_validator = validator_for(document, "ControlProgramOne")
    for index, program in enumerate(fixture["controlPrograms"]):
        for error in program_validator.iter_errors(program):
            errors.append(f"controlPrograms[{index}]: {error.json_path}: {error.message}")
    for line in errors:
        print(line)
    print(f"{fixture_path.name}: {'valid' if not errors else f'{len(errors)} error(s)'} against TALQ Calendar / ControlProgramOne")
    return 1 if errors else 0


if __name__ == "__main__":
    sys.exit(main())
