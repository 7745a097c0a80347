"""Atom (RFC 4287) feeds, built with ElementTree: the active public alerts (each entry pointing at its latest CAP
message, as CAP feed readers expect) and the published bulletins (with the card picture and radio audio attached)."""
from __future__ import annotations

import xml.etree.ElementTree as ET
from collections.abc import Sequence
from dataclasses import dataclass, field

from tichwatch.core.timefmt import iso_local

ATOM_NS = "http://www.w3.org/2005/Atom"
"""The Atom namespace."""
ATOM_MEDIA_TYPE = "application/atom+xml"
"""Media type of an Atom feed."""


@dataclass(frozen=True)
class Link:
    """An Atom link: where, what for (alternate, related, enclosure …), which media type."""

    href: str
    rel: str = "alternate"
    type: str | None = None
    title: str | None = None


@dataclass(frozen=True)
class Entry:
    """One feed entry."""

    id: str
    title: str
    updated_ts: float
    summary: str
    links: Sequence[Link]
    content: str | None = None
    published_ts: float | None = None
    categories: Sequence[str] = field(default_factory=tuple)


@dataclass(frozen=True)
class Feed:
    """A feed and its entries, newest first."""

    id: str
    title: str
    subtitle: str
    self_url: str
    author: str
    lang: str
    updated_ts: float
    entries: Sequence[Entry]


def _sub(parent: ET.Element, tag: str, text: str | None = None, **attrs: str) -> ET.Element:
    # plain names under a root that declares the Atom namespace as the default: ElementTree's prefix registry is
    # global (the CAP module's messages have their own default namespace), and its default_namespace option refuses
    # unqualified attributes such as rel and href
    el = ET.SubElement(parent, tag, {k: v for k, v in attrs.items() if v is not None})
    if text is not None:
        el.text = text
    return el


def _link(parent: ET.Element, link: Link) -> None:
    attrs = {"rel": link.rel, "href": link.href}
    if link.type:
        attrs["type"] = link.type
    if link.title:
        attrs["title"] = link.title
    _sub(parent, "link", **attrs)


def atom_xml(feed: Feed, timezone: str) -> bytes:
    """The feed as Atom XML (times local with their offset)."""
    root = ET.Element("feed", {"xmlns": ATOM_NS, "{http://www.w3.org/XML/1998/namespace}lang": feed.lang})
    _sub(root, "id", feed.id)
    _sub(root, "title", feed.title)
    _sub(root, "subtitle", feed.subtitle)
    _sub(root, "updated", iso_local(feed.updated_ts, timezone))
    author = _sub(root, "author")
    _sub(author, "name", feed.author)
    _link(root, Link(feed.self_url, "self", "application/atom+xml"))
    for e in feed.entries:
        entry = _sub(root, "entry")
        _sub(entry, "id", e.id)
        _sub(entry, "title", e.title)
        _sub(entry, "updated", iso_local(e.updated_ts, timezone))
        if e.published_ts is not None:
            _sub(entry, "published", iso_local(e.published_ts, timezone))
        for term in e.categories:
            _sub(entry, "category", term=term)
        for link in e.links:
            _link(entry, link)
        _sub(entry, "summary", e.summary, type="text")
        if e.content is not None:
            _sub(entry, "content", e.content, type="text")
    document: bytes = ET.tostring(root, encoding="utf-8", xml_declaration=True)
    return document
