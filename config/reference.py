"""The config reference in Markdown, generated from the schema so the README cannot drift from the code."""
from __future__ import annotations

from typing import Any, get_args, get_origin

from pydantic import BaseModel
from pydantic_core import PydanticUndefined

from tichwatch.config.schema import Settings


def _type_name(annotation: Any) -> str:
    """A readable name for a field's type."""
    origin = get_origin(annotation)
    if origin is None:
        return getattr(annotation, "__name__", str(annotation)).replace("NoneType", "null")
    args = ", ".join(_type_name(a) for a in get_args(annotation))
    name = getattr(origin, "__name__", str(origin)).replace("UnionType", "one of").replace("Literal", "one of")
    return f"{name}[{args}]"


def _default(field: Any) -> str:
    """The default value as YAML would show it, or 'required'."""
    if field.default is PydanticUndefined and field.default_factory is None:
        return "required"
    if field.default_factory is not None:
        value = field.default_factory()
        return "see below" if isinstance(value, BaseModel) else repr(value)
    return "null" if field.default is None else repr(field.default)


def _rows(model: type[BaseModel], prefix: str, out: list[str]) -> None:
    nested: list[tuple[str, type[BaseModel]]] = []
    for name, field in model.model_fields.items():
        path = f"{prefix}{name}"
        ann = field.annotation
        inner = get_args(ann)[0] if get_origin(ann) is list and get_args(ann) else ann
        if isinstance(inner, type) and issubclass(inner, BaseModel):
            nested.append((f"{path}[]." if get_origin(ann) is list else f"{path}.", inner))
            kind = f"list of {inner.__name__}" if get_origin(ann) is list else inner.__name__
        else:
            kind = _type_name(ann)
        desc = (field.description or "").replace("|", "\\|")
        out.append(f"| `{path}` | {kind} | `{_default(field)}` | {desc} |")
    for path, sub in nested:
        _rows(sub, path, out)


def config_reference() -> str:
    """Markdown table of every setting: YAML path, type, default, description."""
    out = ["| setting | type | default | description |", "|---|---|---|---|"]
    _rows(Settings, "", out)
    return "\n".join(out) + "\n"
