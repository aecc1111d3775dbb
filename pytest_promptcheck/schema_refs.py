"""``$ref`` in JSON Schemas: resolved from files in the schema's own folder, never fetched.

Left to itself jsonschema GETs any http(s) ``$ref`` with no timeout and reads ``file:`` URIs
anywhere. Here a ``referencing.Registry`` retrieves only relative refs and ``file:`` URIs that
resolve inside the schema's folder (under the rootdir). Every ref reachable from the schema is
resolved at collection time, so a bad ref is a collection error, and the documents found are kept
with the schema: validation later retrieves nothing.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any, cast
from urllib.parse import unquote, urlsplit

from referencing import Registry, Resource, Specification
from referencing.exceptions import (
    CannotDetermineSpecification,
    NoSuchResource,
    Unresolvable,
    Unretrievable,
)
from referencing.jsonschema import DRAFT202012, UnknownDialect, specification_with

from pytest_promptcheck.errors import CheckArgError
from pytest_promptcheck.project import OutsideProject, Project

Resources = tuple[tuple[str, Any], ...]
"""Documents that refs reach, by the URI the ref names (relative to the schema: portable)."""
Parse = Callable[[str, Path], Any]

_REF_KEYWORDS = ("$ref", "$dynamicRef", "$recursiveRef")
_REF_HINT = (
    "write a relative $ref to a schema file in the same folder or below, "
    "e.g. defs.schema.json#/$defs/queue; remote refs are never fetched"
)
_MAX_SUBSCHEMAS = 100_000


def specification_of(contents: Any) -> Specification[Any]:
    """The dialect a schema declares; Draft 2020-12 when it declares none (as jsonschema)."""
    dialect = contents.get("$schema") if isinstance(contents, dict) else None
    return specification_with(dialect if isinstance(dialect, str) else "", default=DRAFT202012)


def resolve_refs(contents: Any, folder: Path, project: Project, parse: Parse) -> Resources:
    """Resolve every ``$ref`` reachable from ``contents``; return the documents they reach."""
    if not _mentions_refs(contents):
        return ()  # the common case, without building a registry
    spec = specification_of(contents)
    loaded: dict[str, Any] = {}

    def retrieve(uri: str) -> Resource[Any]:
        path = _local_file(uri, folder, project)
        loaded[uri] = document = parse(uri, path)
        return Resource.from_contents(document, default_specification=spec)

    registry = _with_metaschemas(Registry(retrieve=retrieve))  # type: ignore[call-arg]
    root = spec.create_resource(contents)
    _walk(root, registry.resolver_with_root(root), spec)
    return tuple(sorted(loaded.items()))


def registry_of(contents: Any, resources: Resources) -> Registry[Any]:
    """A registry holding the documents found at collection; it retrieves nothing more."""
    spec = specification_of(contents)
    found = [
        (uri, Resource.from_contents(doc, default_specification=spec)) for uri, doc in resources
    ]
    # mypy reads attrs' field aliases (retrieve=, ref=) as unknown keywords
    return Registry(retrieve=_nothing_more).with_resources(found)  # type: ignore[call-arg]


def _nothing_more(uri: str) -> Resource[Any]:
    raise NoSuchResource(ref=uri)  # type: ignore[call-arg]


def _with_metaschemas(registry: Registry[Any]) -> Registry[Any]:
    # the dialects' own schemas, shipped with jsonschema: a $ref to a metaschema needs no network
    from jsonschema_specifications import REGISTRY  # type: ignore[import-untyped]

    return cast(Registry[Any], REGISTRY.combine(registry))


def _local_file(uri: str, folder: Path, project: Project) -> Path:
    parts = urlsplit(uri)
    if parts.scheme == "file" and parts.netloc in ("", "localhost"):
        path = Path(unquote(parts.path))
    elif not parts.scheme and not parts.netloc:
        path = folder / unquote(parts.path)
    else:
        raise _RefError(f"$ref {uri}: remote references are not fetched")
    try:
        return project.confine(path, f"$ref {uri}", tree=folder)
    except OutsideProject as exc:
        raise _RefError(exc.message) from None


class _RefError(Exception):
    """Why a ref could not be retrieved; raised inside referencing, reported by _lookup."""


def _walk(root: Resource[Any], resolver: Any, spec: Specification[Any]) -> None:
    stack = [(root, resolver)]
    seen: dict[int, Any] = {}  # keeps each visited object alive, so its id stays unique
    while stack:
        resource, resolver = stack.pop()
        if id(resource.contents) in seen:
            continue
        seen[id(resource.contents)] = resource.contents
        if len(seen) > _MAX_SUBSCHEMAS:
            raise CheckArgError(f"the schema has more than {_MAX_SUBSCHEMAS} subschemas")
        for ref in _refs(resource.contents):
            resolved = _lookup(resolver, ref)
            target = Resource.from_contents(resolved.contents, default_specification=spec)
            stack.append((target, resolved.resolver))
        stack.extend((sub, resolver.in_subresource(sub)) for sub in resource.subresources())


def _mentions_refs(contents: Any) -> bool:
    stack, seen = [contents], set()
    while stack:
        value = stack.pop()
        if id(value) in seen:  # YAML aliases share objects: visit each once
            continue
        seen.add(id(value))
        if isinstance(value, dict):
            if any(key in value for key in _REF_KEYWORDS):
                return True
            stack.extend(value.values())
        elif isinstance(value, list):
            stack.extend(value)
    return False


def _refs(contents: Any) -> list[str]:
    if not isinstance(contents, dict):
        return []
    return [ref for key in _REF_KEYWORDS if isinstance(ref := contents.get(key), str)]


def _lookup(resolver: Any, ref: str) -> Any:
    try:
        return resolver.lookup(ref)
    except Unresolvable as exc:
        cause = exc.__cause__.__cause__ if isinstance(exc.__cause__, Unretrievable) else None
        if isinstance(cause, (_RefError, CheckArgError)):
            raise CheckArgError(str(cause), hint=_REF_HINT) from None
        reason = f": {cause}" if cause is not None else ""
        raise CheckArgError(f"$ref {ref} cannot be resolved{reason}", hint=_REF_HINT) from None
    except (CannotDetermineSpecification, UnknownDialect) as exc:
        raise CheckArgError(
            f"$ref {ref}: unknown $schema dialect ({exc})", hint=_REF_HINT
        ) from None
