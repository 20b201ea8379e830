"""Entity label corrections: a step of its own, after attribution.

Attribution sometimes learns what an entity is: "she said" points at a name the model called
an organisation, "the agency said" at one it called a person, "…," said Okafor names a person
the model never tagged. Attribution does not change entities itself; it proposes a
`LabelCorrection` with the reason, and `apply_corrections` applies them to the entity index
before the EnrichedArticle is built, so the change is visible, logged and testable.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from pipeline.enrich.entities import EntityCluster, EntityIndex

__all__ = ["LabelCorrection", "apply_corrections"]

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class LabelCorrection:
    """`cluster` should carry `label`, because of `reason`; a cluster with a negative number is new."""

    cluster: EntityCluster
    label: str
    reason: str


def apply_corrections(index: EntityIndex, corrections: list[LabelCorrection]) -> list[LabelCorrection]:
    """Apply the corrections in order (new entities join the index); returns the ones that changed something."""
    applied = []
    known = {id(c) for c in index.clusters}
    for correction in corrections:
        cluster = correction.cluster
        if id(cluster) not in known:
            cluster.number = len(index.clusters)
            index.add(cluster)
            known.add(id(cluster))
        elif cluster.label == correction.label:
            continue
        logger.debug("entity label corrected name=%s label=%s reason=%s", cluster.name, correction.label, correction.reason)
        cluster.label = correction.label
        applied.append(correction)
    return applied
