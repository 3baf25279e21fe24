"""XMP packets: merge the alt text (IPTC Alt Text (Accessibility) and dc:description, lang-alt x-default)
into an existing packet, keeping every other property and language, and read it back. Alt text in a known
language (an engine.lang_text.LangText, e.g. from a zh_CN batch) is also written as that language's
alternative (`xml:lang="zh-CN"`), so a reader that picks by language finds it."""
from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from io import BytesIO

from describe_aloud.engine.i18n import _
from describe_aloud.engine.lang_text import language_of
from describe_aloud.engine.metadata_formats import MetadataError
from describe_aloud.engine.text_safety import xml_text

NS_X = "adobe:ns:meta/"
NS_RDF = "http://www.w3.org/1999/02/22-rdf-syntax-ns#"
NS_DC = "http://purl.org/dc/elements/1.1/"
NS_IPTC = "http://iptc.org/std/Iptc4xmpCore/1.0/xmlns/"
NS_XML = "http://www.w3.org/XML/1998/namespace"

_PREFIXES = {"x": NS_X, "rdf": NS_RDF, "dc": NS_DC, "Iptc4xmpCore": NS_IPTC}


def _register_prefixes(extra: dict[str, str] | None = None) -> None:
    for prefix, uri in {**_PREFIXES, **(extra or {})}.items():
        if not prefix or re.fullmatch(r"ns\d+", prefix):
            continue
        try:
            ET.register_namespace(prefix, uri)
        except ValueError:
            pass


_XPACKET_RE = re.compile(rb"<\?xpacket[^>]*\?>")


def _strip_packet(packet: bytes) -> bytes:
    body = _XPACKET_RE.sub(b"", packet).strip(b" \t\r\n\x00")
    if body.startswith(b"\xef\xbb\xbf"):
        body = body[3:]
    return body


def _parse_xmp(packet: bytes) -> ET.Element:
    """Parse an XMP packet (with or without the x:xmpmeta wrapper); raises MetadataError when it is not XML."""
    body = _strip_packet(packet)
    namespaces: dict[str, str] = {}
    try:
        for event, item in ET.iterparse(BytesIO(body), events=("start-ns",)):
            prefix, uri = item
            namespaces.setdefault(prefix, uri)
        root = ET.fromstring(body)
    except ET.ParseError as exc:
        raise MetadataError(_("the existing XMP metadata is not valid XML ({reason})").format(reason=exc)) from None
    _register_prefixes(namespaces)
    return root


def _rdf_root(root: ET.Element) -> ET.Element:
    if root.tag == f"{{{NS_RDF}}}RDF":
        return root
    rdf = root.find(f"{{{NS_RDF}}}RDF")
    if rdf is None:
        raise MetadataError(_("the existing XMP metadata has no rdf:RDF element"))
    return rdf


def _set_lang_alt(rdf: ET.Element, ns: str, name: str, text: str) -> None:
    """Set the x-default alternative of a lang-alt property, keeping any other languages; for a text in a
    known language (engine.lang_text.LangText), the alternative of that language too."""
    _set_lang_alt_default(rdf, ns, name, text)
    language = language_of(text)
    if language:
        _set_lang_alt_language(rdf, ns, name, str(text), language)


def _set_lang_alt_language(rdf: ET.Element, ns: str, name: str, text: str, language: str) -> None:
    """Set (or add after x-default) the `xml:lang=language` alternative of a lang-alt property that
    _set_lang_alt_default has just made sure exists."""
    lang_attr = f"{{{NS_XML}}}lang"
    for desc in rdf.findall(f"{{{NS_RDF}}}Description"):
        alt = desc.find(f"{{{ns}}}{name}/{{{NS_RDF}}}Alt")
        if alt is None:
            continue
        same = next((li for li in alt.findall(f"{{{NS_RDF}}}li")
                     if (li.get(lang_attr) or "").lower() == language.lower()), None)
        if same is None:
            same = ET.Element(f"{{{NS_RDF}}}li", {lang_attr: language})
            alt.insert(1, same)
        same.text = text
        return


def _set_lang_alt_default(rdf: ET.Element, ns: str, name: str, text: str) -> None:
    """Set the x-default alternative of a lang-alt property, keeping any other languages."""
    tag = f"{{{ns}}}{name}"
    lang_attr = f"{{{NS_XML}}}lang"
    for desc in rdf.findall(f"{{{NS_RDF}}}Description"):
        # A simple attribute form is not valid for lang-alt; replace it by the element form below.
        desc.attrib.pop(tag, None)
    for desc in rdf.findall(f"{{{NS_RDF}}}Description"):
        prop = desc.find(tag)
        if prop is None:
            continue
        alt = prop.find(f"{{{NS_RDF}}}Alt")
        if alt is None:  # not a lang-alt: replace it by one
            desc.remove(prop)
            continue
        default = next((li for li in alt.findall(f"{{{NS_RDF}}}li") if li.get(lang_attr) == "x-default"), None)
        if default is None:
            default = ET.Element(f"{{{NS_RDF}}}li", {lang_attr: "x-default"})
            alt.insert(0, default)
        default.text = text
        return
    descs = rdf.findall(f"{{{NS_RDF}}}Description")
    if descs:
        desc = descs[0]
    else:
        desc = ET.SubElement(rdf, f"{{{NS_RDF}}}Description", {f"{{{NS_RDF}}}about": ""})
    prop = ET.SubElement(desc, tag)
    alt = ET.SubElement(prop, f"{{{NS_RDF}}}Alt")
    li = ET.SubElement(alt, f"{{{NS_RDF}}}li", {lang_attr: "x-default"})
    li.text = text


def build_xmp(alt_text: str, existing: bytes | None = None, *, padding: int = 1024) -> bytes:
    """An XMP packet (UTF-8) with the alt text set as AltTextAccessibility and dc:description.

    `existing`: a packet already in the file or sidecar; everything else in it is kept."""
    _register_prefixes()
    alt_text = xml_text(alt_text)  # control characters / lone surrogates would make the packet invalid XML
    if existing and existing.strip(b" \t\r\n\x00"):
        root = _parse_xmp(existing)
        rdf = _rdf_root(root)
    else:
        root = ET.Element(f"{{{NS_X}}}xmpmeta")
        rdf = ET.SubElement(root, f"{{{NS_RDF}}}RDF")
        ET.SubElement(rdf, f"{{{NS_RDF}}}Description", {f"{{{NS_RDF}}}about": ""})
    _set_lang_alt(rdf, NS_IPTC, "AltTextAccessibility", alt_text)
    _set_lang_alt(rdf, NS_DC, "description", alt_text)
    body = ET.tostring(root, encoding="unicode")
    packet = (
        '<?xpacket begin="\ufeff" id="W5M0MpCehiHzreSzNTczkc9d"?>\n'
        + body
        + "\n"
        + (" " * 99 + "\n") * (padding // 100)
        + '<?xpacket end="w"?>'
    )
    return packet.encode("utf-8")


def read_xmp_alt_text(packet: bytes) -> str | None:
    """The x-default AltTextAccessibility in a packet (used to verify our own writes)."""
    rdf = _rdf_root(_parse_xmp(packet))
    for desc in rdf.findall(f"{{{NS_RDF}}}Description"):
        prop = desc.find(f"{{{NS_IPTC}}}AltTextAccessibility")
        if prop is None:
            continue
        for li in prop.iter(f"{{{NS_RDF}}}li"):
            if li.get(f"{{{NS_XML}}}lang") == "x-default":
                return li.text or ""
    return None
