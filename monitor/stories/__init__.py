"""Stories (design §13): every hit in exactly one story, the reports of one event across outlets
and languages. Grouping is pure (``grouping.py``, on ``evidence.py`` and ``text.py``); ``assign.py``
places hits through the store."""

from monitor.stories.assign import place_hits, place_unplaced, rebuild, rules_for
from monitor.stories.evidence import Evidence, evidence_of
from monitor.stories.grouping import Grouper, Link, Placement, Rules, group, story_id
from monitor.stories.text import grouping_text

__all__ = ["Evidence", "Grouper", "Link", "Placement", "Rules", "evidence_of", "group",
           "grouping_text", "place_hits", "place_unplaced", "rebuild",
           "rules_for", "story_id"]
