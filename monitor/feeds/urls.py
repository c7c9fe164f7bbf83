"""Article identity: canonical URLs and stable article ids.

Both are pure functions of their arguments, so the same article read from two feeds (or on two
polls) gets the same canonical URL and the same id.
"""

from __future__ import annotations

import hashlib
import re
from datetime import datetime
from urllib.parse import SplitResult, quote, unquote_plus, urlsplit, urlunsplit

# Query parameters that only track the reader and never select the article.
_TRACKING_PARAMS = frozenset({
    "fbclid", "gclid", "gclsrc", "dclid", "gbraid", "wbraid", "msclkid", "yclid", "twclid",
    "igshid", "mc_cid", "mc_eid", "ocid", "cmpid", "_ga", "_gl", "mkt_tok", "_hsenc", "_hsmi",
    "hsctatracking", "oly_anon_id", "oly_enc_id", "vero_id", "rb_clickid", "s_cid", "wt.mc_id",
    "ns_campaign", "ns_mchannel", "ns_source", "ns_linkname", "ns_fee", "at_medium",
    "at_campaign", "sr_share", "ito", "__twitter_impression",
})
_TRACKING_PREFIXES = ("utm_",)
_DEFAULT_PORTS = {"http": "80", "https": "443"}
ID_LENGTH = 20
# Characters left as they are when percent-encoding a path or query: the reserved set, the
# unreserved set, and "%" itself so that existing escapes survive.
_URL_SAFE = "/:@!$&'()*+,;=-._~%?"
_ESCAPE = re.compile(r"%[0-9a-fA-F]{2}")


def canonical_url(url: str) -> str:
    """The URL with a lower-case scheme and host, no default port, no fragment, no tracking.

    The remaining query parameters keep their order and spelling. Idempotent. Anything that is
    not an absolute URL with a host comes back only stripped of surrounding whitespace.
    """
    text = url.strip()
    try:
        parts = urlsplit(text)
        netloc = _canonical_netloc(parts)
    except ValueError:  # e.g. an unclosed IPv6 bracket or a non-numeric port
        return text
    if not parts.scheme or not netloc:
        return text
    scheme = parts.scheme.lower()
    path = parts.path
    if not path and netloc and scheme in _DEFAULT_PORTS:
        path = "/"
    return urlunsplit((scheme, netloc, _encoded(path), _encoded(_strip_tracking(parts.query)),
                       _route_fragment(parts.fragment))).strip()


def _encoded(text: str) -> str:
    """One spelling for the same address: "misión" and "misi%c3%b3n" both become "misi%C3%B3n"."""
    return _ESCAPE.sub(lambda m: m.group(0).upper(), quote(text, safe=_URL_SAFE))


def _canonical_netloc(parts: SplitResult) -> str:
    userinfo, at, hostport = parts.netloc.rpartition("@")
    if hostport.startswith("["):  # IPv6 literal: the port follows the closing bracket
        host, _, rest = hostport.partition("]")
        host += "]"
        port = rest[1:] if rest.startswith(":") else ""
    else:
        host, _, port = hostport.partition(":")
    if port and not port.isdigit():
        raise ValueError(f"bad port {port!r}")
    if port == _DEFAULT_PORTS.get(parts.scheme.lower()):
        port = ""
    return f"{userinfo}{at}{host.lower()}" + (f":{port}" if port else "")


def _strip_tracking(query: str) -> str:
    kept = [piece for piece in query.split("&") if piece and not _is_tracking(piece)]
    return "&".join(kept)


def _is_tracking(piece: str) -> bool:
    name = unquote_plus(piece.partition("=")[0]).strip().lower()
    return name in _TRACKING_PARAMS or name.startswith(_TRACKING_PREFIXES)


def _route_fragment(fragment: str) -> str:
    # "#!/story/42" and "#/story/42" are client-side routes that select the article; dropping
    # them would merge every article of such a site into one. Plain anchors are dropped.
    return fragment if fragment.startswith(("!", "/")) else ""


def article_id(*, guid: str | None, url: str | None, feed: str, title: str,
               published: datetime | None = None) -> str:
    """A stable id: 20 hex digits of a SHA-1 over the article's identity within its feed.

    Identity is, in order: the guid; else the canonical URL; else title + the date the entry
    declared (pass None when it declared none, so the id does not change per poll). A guid
    that is an http(s) URL counts as that URL. Every key is scoped by the feed: a guid is only
    unique within the feed that gives it, and another feed claiming the same guid or link must
    never reach this feed's article (storage links the same canonical URL across feeds instead,
    see docs/architecture.md, "What is the same article").
    """
    key = _identity_key(guid.strip() if guid else "", url.strip() if url else "", feed, title,
                        published)
    return hashlib.sha1(key.encode("utf-8", "surrogatepass")).hexdigest()[:ID_LENGTH]


def _identity_key(guid: str, url: str, feed: str, title: str,
                  published: datetime | None) -> str:
    if guid:
        if guid.lower().startswith(("http://", "https://")):
            return f"feed:{feed}\x1furl:{canonical_url(guid)}"
        return f"feed:{feed}\x1fguid:{guid}"
    if url:
        return f"feed:{feed}\x1furl:{canonical_url(url)}"
    # The form these ids had before identity was scoped by feed, so stored ones keep their ids.
    stamp = published.isoformat() if published else ""
    return f"entry:{feed}\x1f{title}\x1f{stamp}"
