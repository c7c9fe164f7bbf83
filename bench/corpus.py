"""News-like English and Spanish text, and RSS / Atom feeds built from it, for the benchmarks.

Everything is generated from a seed, so the feed server (another process) and the benchmark
build the same bytes without passing them around. The text imitates wire copy: frequent function
words, names of places and agencies, numbers, quotations with curly quotes and dashes, accents in
Spanish. By default about one sentence in twelve names a watch-list program or topic and one in
twenty a look-alike (a network firewall, the city of Mérida): rates of targeted feeds (searches
for the programs), so matching and storing do their real work. The long articles of the
matching figure use the rates of general news instead (bench/matchbench.py).
"""

from __future__ import annotations

import hashlib
import random
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime
from xml.sax.saxutils import escape

_EN_COMMON = (
    "the the the the of of of to to and and a a in in that is was for on with as by at from "
    "it said his he has have be are were not an after who they their its had but been more "
    "this which will also over two one three new last year years week officials people "
    "government state federal police according told would could about into than other since"
).split()
_EN_CONTENT = (
    "border agents seized rifles pistols ammunition cartel investigation authorities smuggling "
    "trafficking weapons firearms customs inspectors trucks shipment bridge crossing arrest "
    "charged indictment prosecutors court judge sentence report data analysis cooperation "
    "security meeting minister secretary ambassador embassy agreement program initiative "
    "operation task force agency department violence homicides murders community residents "
    "market economy trade tariffs election campaign president congress senate bill law vote "
    "investment company shares prices inflation energy oil water drought heat storm hurricane "
    "school students teachers hospital health vaccine doctors patients study researchers "
    "city county town mayor council road highway traffic accident fire firefighters network "
    "software update computer security breach hackers data privacy phone app users platform "
    "team season game coach players league match goal championship stadium fans tickets"
).split()
_EN_NAMES = (
    "Texas Arizona California Laredo Nogales Tucson Phoenix El Paso Houston McAllen Brownsville "
    "Sonora Sinaloa Jalisco Tamaulipas Chihuahua Mexico Washington Justice Department ATF DHS "
    "CBP ICE FBI Reuters AP Biden Trump Sheinbaum Garland Monday Tuesday Wednesday Thursday "
    "Friday Saturday Sunday January February March April May June July August September October"
).split()
_ES_COMMON = (
    "de de de de la la la el el el en en en y y que que a a los los las se del del por por un "
    "una con para su al lo como más pero sus le ya o fue este ha sí porque esta son entre "
    "cuando muy sin sobre también me hasta hay donde quien desde todo nos durante todos uno "
    "les ni contra otros ese eso ante ellos e esto mí antes algunos qué unos yo otro otras"
).split()
_ES_CONTENT = (
    "frontera agentes aseguraron rifles pistolas municipios cártel investigación autoridades "
    "contrabando tráfico armas cartuchos aduanas inspectores camiones cargamento puente cruce "
    "detenido acusado fiscalía tribunal juez sentencia informe datos análisis cooperación "
    "seguridad reunión canciller secretario embajador embajada acuerdo programa iniciativa "
    "operativo fuerza tarea agencia violencia homicidios asesinatos comunidad vecinos mercado "
    "economía comercio aranceles elección campaña presidenta congreso senado iniciativa ley "
    "inversión empresa acciones precios inflación energía petróleo agua sequía calor tormenta "
    "huracán escuela alumnos maestros hospital salud vacuna médicos pacientes estudio ciudad "
    "alcalde cabildo carretera tránsito accidente incendio bomberos red software actualización "
    "computadora brecha datos privacidad teléfono aplicación usuarios equipo temporada partido "
    "entrenador jugadores liga gol campeonato estadio aficionados boletos niños niñas años"
).split()
_ES_NAMES = (
    "México Sonora Sinaloa Jalisco Tamaulipas Chihuahua Michoacán Guerrero Tijuana Culiacán "
    "Ciudad Juárez Nuevo Laredo Reynosa Nogales Hermosillo Guadalajara Monterrey Estados Unidos "
    "Texas Arizona Sedena Marina FGR SRE Sheinbaum Harfuch lunes martes miércoles jueves viernes "
    "sábado domingo enero febrero marzo abril mayo junio julio agosto septiembre octubre"
).split()
_EN_MENTIONS = (
    "Mission Firewall", "ATF's eTrace system", "the Bicentennial Framework",
    "the Mérida Initiative", "Operation Southbound", "Operation Fast and Furious",
    "the NIBIN network", "the Security Implementation Group", "gun trafficking",
    "straw purchasers", "arms smuggling", "firearms trafficking",
)
_ES_MENTIONS = (
    "la Misión Cortafuegos", "el sistema eTrace de la ATF", "el Entendimiento Bicentenario",
    "la Iniciativa Mérida", "la Operación Southbound", "el operativo Rápido y Furioso",
    "la red NIBIN", "el Grupo de Implementación de Seguridad", "el tráfico de armas",
    "compradores de paja", "el contrabando de armas", "armas de fuego",
)
_EN_DECOYS = ("a network firewall", "the Fast and Furious films", "the city of Mérida",
              "southbound traffic", "contact tracing", "an ibis")
_ES_DECOYS = ("un cortafuegos forestal", "Rápidos y Furiosos", "la ciudad de Mérida",
              "el Bicentenario de 2010", "el rastreo de contactos")


@dataclass(frozen=True)
class Story:
    """One generated article: plain text, with its language."""

    language: str
    title: str
    summary: str
    paragraphs: tuple[str, ...]


class NewsText:
    """Generates sentences, paragraphs and stories in English ("en") or Spanish ("es")."""

    def __init__(self, seed: int, *, mentions: float = 0.085, decoys: float = 0.05) -> None:
        self.rng = random.Random(seed)
        self.mentions = mentions   # share of sentences naming a program or topic
        self.decoys = decoys       # ... or a look-alike

    def sentence(self, language: str, words: int | None = None) -> str:
        rng = self.rng
        common, content, names = ((_EN_COMMON, _EN_CONTENT, _EN_NAMES) if language == "en"
                                  else (_ES_COMMON, _ES_CONTENT, _ES_NAMES))
        count = words or rng.randint(9, 26)
        out: list[str] = []
        for _ in range(count):
            roll = rng.random()
            if roll < 0.48:
                out.append(rng.choice(common))
            elif roll < 0.88:
                out.append(rng.choice(content))
            elif roll < 0.97:
                out.append(rng.choice(names))
            else:
                out.append(f"{rng.randint(2, 950):,}")
        self._decorate(out, language)
        text = " ".join(out)
        return text[0].upper() + text[1:] + rng.choice(".....?")

    def _decorate(self, words: list[str], language: str) -> None:
        rng = self.rng
        roll = rng.random()
        where = rng.randrange(len(words))
        if roll < self.mentions:
            words.insert(where, rng.choice(_EN_MENTIONS if language == "en" else _ES_MENTIONS))
        elif roll < self.mentions + self.decoys:
            words.insert(where, rng.choice(_EN_DECOYS if language == "en" else _ES_DECOYS))
        if rng.random() < 0.15:      # a quotation with typographic punctuation
            words[where] = f"“{words[where]}"
            words[-1] = f"{words[-1]},” {'said' if language == 'en' else 'dijo'} "
            words[-1] += rng.choice(_EN_NAMES if language == "en" else _ES_NAMES)
        if rng.random() < 0.1:
            words.insert(rng.randrange(len(words)), "—")

    def paragraph(self, language: str) -> str:
        return " ".join(self.sentence(language) for _ in range(self.rng.randint(2, 5)))

    def story(self, language: str | None = None, *, paragraphs: int = 0) -> Story:
        lang = language or ("en" if self.rng.random() < 0.5 else "es")
        title = self.sentence(lang, self.rng.randint(7, 13)).rstrip(".?")
        summary = " ".join(self.sentence(lang) for _ in range(self.rng.randint(2, 3)))
        body = tuple(self.paragraph(lang) for _ in range(paragraphs))
        return Story(lang, title, summary, body)

    def text(self, size: int, language: str) -> list[str]:
        """Paragraphs of at least ``size`` characters in all, in one language."""
        out: list[str] = []
        total = 0
        while total < size:
            out.append(self.paragraph(language))
            total += len(out[-1]) + 1
        return out


# --- feeds ----------------------------------------------------------------------------------

BASE_DATE = datetime(2026, 11, 20, 12, 0, tzinfo=UTC)


@dataclass(frozen=True)
class FeedSpec:
    """What the server serves for one feed (a pure function of the index and the seed)."""

    index: int
    items: int
    seed: int

    @property
    def kind(self) -> str:
        return "atom" if self.index % 4 == 3 else "rss"

    @property
    def full_content(self) -> bool:
        return self.index % 5 == 0     # one feed in five carries the whole article


def feed_body(spec: FeedSpec) -> bytes:
    """The feed document for ``spec``: RSS 2.0 (three in four) or Atom."""
    text = NewsText(spec.seed * 1_000_003 + spec.index)
    language = "en" if spec.index % 2 == 0 else "es"
    site = f"news{spec.index}.example.org"
    stories = [text.story(language, paragraphs=4 if spec.full_content else 0)
               for _ in range(spec.items)]
    if spec.kind == "atom":
        return atom_feed(stories, site=site, language=language, feed_index=spec.index)
    return rss_feed(stories, site=site, language=language, feed_index=spec.index)


def _html(story: Story, site: str, slug: str) -> str:
    return (f'<p><img src="https://{site}/img/{slug}.jpg" width="640" alt=""/></p>'
            f"<p>{escape(story.summary)}</p>"
            f'<p><a href="https://{site}/{slug}?utm_source=rss">'
            f"{'Read more' if story.language == 'en' else 'Leer más'}</a></p>")


def _slug(story: Story, feed_index: int, item: int) -> str:
    digest = hashlib.sha1(f"{feed_index}/{item}/{story.title}".encode()).hexdigest()[:10]
    words = "-".join(story.title.lower().split()[:6])
    return f"2026/{words}-{digest}"


def rss_feed(stories: list[Story], *, site: str, language: str, feed_index: int = 0) -> bytes:
    items = []
    for n, story in enumerate(stories):
        slug = _slug(story, feed_index, n)
        when = format_datetime(BASE_DATE - timedelta(minutes=37 * n + feed_index))
        content = ""
        if story.paragraphs:
            html = "".join(f"<p>{escape(p)}</p>" for p in story.paragraphs)
            content = f"<content:encoded><![CDATA[{html}]]></content:encoded>"
        items.append(
            f"<item><title>{escape(story.title)}</title>"
            f"<link>https://{site}/{slug}?utm_source=rss&amp;utm_medium=feed</link>"
            f'<guid isPermaLink="false">{site}-{feed_index}-{n}</guid>'
            f"<pubDate>{when}</pubDate><dc:creator>Staff {n % 7}</dc:creator>"
            f"<category>{'Border' if language == 'en' else 'Frontera'}</category>"
            f"<category>{'Security' if language == 'en' else 'Seguridad'}</category>"
            f"<description>{escape(_html(story, site, slug))}</description>{content}"
            f'<media:content url="https://{site}/img/{slug}.jpg" medium="image"/></item>')
    return (
        '<?xml version="1.0" encoding="UTF-8"?>\n'
        '<rss version="2.0" xmlns:dc="http://purl.org/dc/elements/1.1/" '
        'xmlns:content="http://purl.org/rss/1.0/modules/content/" '
        'xmlns:media="http://search.yahoo.com/mrss/" xmlns:atom="http://www.w3.org/2005/Atom">'
        f"<channel><title>{site} news</title><link>https://{site}/</link>"
        f'<atom:link href="https://{site}/feed" rel="self" type="application/rss+xml"/>'
        f"<description>Latest stories from {site}</description><language>{language}</language>"
        f"<lastBuildDate>{format_datetime(BASE_DATE)}</lastBuildDate><ttl>15</ttl>"
        + "".join(items) + "</channel></rss>\n"
    ).encode()


def atom_feed(stories: list[Story], *, site: str, language: str, feed_index: int = 0) -> bytes:
    entries = []
    for n, story in enumerate(stories):
        slug = _slug(story, feed_index, n)
        when = (BASE_DATE - timedelta(minutes=37 * n + feed_index)).isoformat()
        content = ""
        if story.paragraphs:
            html = "".join(f"<p>{escape(p)}</p>" for p in story.paragraphs)
            content = f'<content type="html">{escape(html)}</content>'
        entries.append(
            f"<entry><title type=\"html\">{escape(escape(story.title))}</title>"
            f'<link rel="alternate" type="text/html" href="https://{site}/{slug}"/>'
            f"<id>tag:{site},2026:{feed_index}-{n}</id><published>{when}</published>"
            f"<updated>{when}</updated><author><name>Staff {n % 7}</name></author>"
            f'<category term="{"border" if language == "en" else "frontera"}"/>'
            f'<summary type="html">{escape(_html(story, site, slug))}</summary>{content}</entry>')
    return (
        '<?xml version="1.0" encoding="utf-8"?>\n'
        f'<feed xmlns="http://www.w3.org/2005/Atom" xml:lang="{language}">'
        f"<title>{site} news</title><id>tag:{site},2026:feed</id>"
        f'<link rel="alternate" href="https://{site}/"/>'
        f'<link rel="self" href="https://{site}/atom.xml"/>'
        f"<updated>{BASE_DATE.isoformat()}</updated>"
        + "".join(entries) + "</feed>\n"
    ).encode()
