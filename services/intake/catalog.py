"""The subject catalog: versioned data (catalog/subjects.json), read into plain objects.

A version is ``active`` (accepts new requests) or ``closed`` (kept so that requests filed
under it still display and report with their label and SLA).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

from shared.vocabulary import DAYS_WITHOUT_ANSWER, MAX_FOLLOWUPS, SLA_DAYS

CATALOG_PATH = Path(__file__).parent / "catalog" / "subjects.json"
# Where a subject's SLA days come from: a seed that fixes them, or this catalog's default
# (the seeds fix the four thresholds, not which subject has which).
SLA_SOURCES = ("seed", "default")


@dataclass(frozen=True)
class Subject:
    code: str
    label: str
    channel: str
    profiles: tuple[str, ...]
    catalog_version: str
    identifier_kinds: tuple[str, ...]
    identifier_required: bool
    sla_days: int | None  # None: an outbound communication, not measured
    area: str
    active: bool
    # whether a seed fixes this subject's sla_days ("seed") or the catalog chose it ("default")
    sla_days_source: str | None = None
    source: str = ""  # the document the subject comes from

    def as_dict(self) -> dict:
        return {
            "code": self.code,
            "label": self.label,
            "channel": self.channel,
            "profiles": list(self.profiles),
            "catalog_version": self.catalog_version,
            "identifier_kinds": list(self.identifier_kinds),
            "identifier_required": self.identifier_required,
            "sla_days": self.sla_days,
            "sla_days_source": self.sla_days_source,
            "area": self.area,
            "source": self.source,
        }


@dataclass(frozen=True)
class ChannelRules:
    """What a requester may do after submitting on one channel, as its seed says.

    ``followups_after_first_answer``: further interactions after the first answer (0: none,
    the conversation continues with a chained request); ``reminder_after_days``: a reminder
    from that day without an answer (None: the channel has no reminder).
    """

    channel: str
    followups_after_first_answer: int
    reminder_after_days: int | None
    source: str

    def as_dict(self) -> dict:
        return {
            "followups_after_first_answer": self.followups_after_first_answer,
            "reminder_after_days": self.reminder_after_days,
            "source": self.source,
        }


def _channel_rules(channel: str, item: dict) -> ChannelRules:
    followups, reminder = item["followups_after_first_answer"], item["reminder_after_days"]
    if not isinstance(followups, int) or isinstance(followups, bool) or followups < 0:
        raise ValueError(f"channels/{channel}: followups_after_first_answer must be an integer >= 0")
    if reminder is not None and (not isinstance(reminder, int) or isinstance(reminder, bool) or reminder < 1):
        raise ValueError(f"channels/{channel}: reminder_after_days must be null or an integer >= 1")
    return ChannelRules(channel, followups, reminder, item["source"])


class Catalog:
    def __init__(self, versions: list[dict], channels: dict[str, dict] | None = None):
        self.channels: dict[str, ChannelRules] = {
            name: _channel_rules(name, item) for name, item in (channels or {}).items()
        }
        missing = sorted({version["channel"] for version in versions} - set(self.channels))
        if channels is not None and missing:
            raise ValueError(f"channels: no rules for {', '.join(missing)}")
        self.subjects: list[Subject] = []
        for version in versions:
            measured = version.get("measured", True)
            for item in version["subjects"]:
                allowed = SLA_DAYS if measured else (None,)
                if item["sla_days"] not in allowed:
                    raise ValueError(
                        f"{version['version']}/{item['code']}: sla_days must be one of {allowed}"
                    )
                sla_source = item.get("sla_days_source")
                if sla_source not in (SLA_SOURCES if measured else (None,)):
                    raise ValueError(
                        f"{version['version']}/{item['code']}: sla_days_source must be one of {SLA_SOURCES}"
                    )
                self.subjects.append(
                    Subject(
                        code=item["code"],
                        label=item["label"],
                        channel=version["channel"],
                        profiles=tuple(item["profiles"]),
                        catalog_version=version["version"],
                        identifier_kinds=tuple(item["identifier_kinds"]),
                        identifier_required=bool(item["identifier_required"]),
                        sla_days=item["sla_days"],
                        area=item["area"],
                        active=version["status"] == "active",
                        sla_days_source=sla_source,
                        source=item.get("source", ""),
                    )
                )

    @classmethod
    def from_file(cls, path: Path = CATALOG_PATH) -> Catalog:
        with open(path, encoding="utf-8") as handle:
            data = json.load(handle)
        return cls(data["versions"], data["channels"])

    def rules_for(self, channel: str) -> ChannelRules:
        """The channel's rules; a channel the catalog does not describe has COMBIPAT's, the
        platform's rules before they became the catalog's data."""
        return self.channels.get(channel) or ChannelRules(
            channel, MAX_FOLLOWUPS, DAYS_WITHOUT_ANSWER, "regole COMBIPAT (predefinite)"
        )

    def offered(self, channel: str, profiles: tuple[str, ...]) -> list[Subject]:
        """Active subjects a caller of this channel and these profiles may choose."""
        return [
            s
            for s in self.subjects
            if s.active and s.channel == channel and any(p in s.profiles for p in profiles)
        ]

    def find_active(self, channel: str, profile: str, code: str) -> Subject | None:
        for subject in self.subjects:
            if (
                subject.active
                and subject.channel == channel
                and subject.code == code
                and profile in subject.profiles
            ):
                return subject
        return None

    def find_version(self, catalog_version: str, code: str) -> Subject | None:
        for subject in self.subjects:
            if subject.catalog_version == catalog_version and subject.code == code:
                return subject
        return None


@lru_cache(maxsize=1)
def default_catalog() -> Catalog:
    return Catalog.from_file()
