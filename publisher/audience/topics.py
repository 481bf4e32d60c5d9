"""Who a campaign is for within its lists: the topics each subscriber chose to receive.

A subscription's ``topics`` are the list's topics its subscriber wants (chosen at the form
or in the preference centre); empty means all of them. A campaign is about the topics of
the posts it carries; a subscriber who chose topics gets it only if one of them is among
those. A campaign whose posts name no topic goes to everyone on its lists.
"""

from __future__ import annotations

from sqlalchemy import BindParameter, ColumnElement, bindparam, select, text
from sqlalchemy.orm import Session

from publisher.campaigns.models import CampaignPost
from publisher.posts.models import Post

# Constant SQL: the campaign's topics travel only as bound parameters.
_ANY_TOPIC = "(subscriptions.topics IS NULL OR json_array_length(subscriptions.topics) = 0"
_CHOSEN_POSTGRESQL = (
    _ANY_TOPIC  # noqa: S608 - constant text, values are bound
    + " OR EXISTS (SELECT 1 FROM json_array_elements_text(subscriptions.topics)"
    " AS chosen(value) WHERE lower(chosen.value) IN :campaign_topics))"
)
_CHOSEN_SQLITE = (
    _ANY_TOPIC  # noqa: S608 - constant text, values are bound
    + " OR EXISTS (SELECT 1 FROM json_each(subscriptions.topics) AS chosen"
    " WHERE lower(chosen.value) IN :campaign_topics))"
)


def campaign_topics(session: Session, campaign_id: int) -> set[str]:
    """The topics of the campaign's posts, case-folded."""
    rows = session.scalars(
        select(Post.topics)
        .join(CampaignPost, CampaignPost.post_id == Post.id)
        .where(CampaignPost.campaign_id == campaign_id)
    )
    return {topic.casefold() for topics in rows for topic in topics or []}


def topic_conditions(session: Session, campaign_id: int) -> list[ColumnElement[bool]]:
    """Conditions (over Subscription) leaving out those who chose only other topics."""
    topics = campaign_topics(session, campaign_id)
    if not topics:
        return []
    wanted: BindParameter[list[str]] = bindparam("campaign_topics", sorted(topics), expanding=True)
    postgresql = session.get_bind().dialect.name == "postgresql"
    # JSON arrays are compared element by element in SQL: planning stays set-based.
    clause = text(_CHOSEN_POSTGRESQL if postgresql else _CHOSEN_SQLITE).bindparams(wanted)
    return [clause]  # type: ignore[list-item]
