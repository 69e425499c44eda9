"""The project's YAML files (dbt, GX, Dagster) have no duplicate keys.

A repeated key is not an error to PyYAML or dbt: the second value silently replaces the first
(a model's second `config:` block dropped its first one). dbt only warns, deep in its log.
"""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest
import yaml

from orchestration import settings

ROOT = settings.PROJECT_ROOT
SKIPPED_PARTS = {".venv", "target", "logs", "node_modules", ".dagster_home", "data"}


class _DuplicateKeyLoader(yaml.SafeLoader):
    pass


def _mapping_without_duplicates(loader: yaml.SafeLoader, node: yaml.MappingNode, deep=False):
    seen: set = set()
    for key_node, _ in node.value:
        key = loader.construct_object(key_node, deep=deep)
        if key in seen:
            raise yaml.constructor.ConstructorError(
                None, None, f"duplicate key {key!r}", key_node.start_mark
            )
        seen.add(key)
    return yaml.SafeLoader.construct_mapping(loader, node, deep)


_DuplicateKeyLoader.add_constructor(
    yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, _mapping_without_duplicates
)


def _project_yaml_files() -> list[Path]:
    """The YAML files the project holds: git's tracked files where there is a checkout (a
    benchmark's or a refresh's generated folders are git-ignored, and hold thousands of copies),
    else every YAML file outside the folders things are generated in."""
    try:
        listed = subprocess.run(
            ["git", "ls-files", "--cached", "--others", "--exclude-standard", "*.yml", "*.yaml"],
            cwd=ROOT, capture_output=True, text=True, check=True, timeout=60,
        ).stdout.split("\n")  # fmt: skip
        return sorted(ROOT / name for name in listed if name and (ROOT / name).is_file())
    except (OSError, subprocess.SubprocessError):
        return sorted(
            p
            for pattern in ("*.yml", "*.yaml")
            for p in ROOT.rglob(pattern)
            if p.is_file() and not SKIPPED_PARTS & set(p.relative_to(ROOT).parts)
        )


def test_the_project_has_yaml_files_to_check():
    names = {p.name for p in _project_yaml_files()}
    assert {"dbt_project.yml", "profiles.yml", "workspace.yaml", "dagster.yaml"} <= names


@pytest.mark.parametrize("path", _project_yaml_files(), ids=lambda p: str(p.relative_to(ROOT)))
def test_no_duplicate_keys(path: Path):
    yaml.load(path.read_text(encoding="utf-8"), Loader=_DuplicateKeyLoader)


def test_the_check_catches_a_duplicate_key():
    with pytest.raises(yaml.constructor.ConstructorError, match="duplicate key 'config'"):
        yaml.load("a:\n  config: 1\n  config: 2\n", Loader=_DuplicateKeyLoader)
