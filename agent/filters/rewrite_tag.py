"""``rewrite_tag`` filter: re-tag records by their fields; the copies run the pipeline again.

For each record the rules (:mod:`logtide.agent.filters.rewrite_tag_rules`) are tried in the
order written and the first that matches wins: the record is emitted under the new tag
through the filter's emitter (:mod:`logtide.agent.core.emitter`), so it enters the pipeline
from its start and meets every filter again, as Fluent Bit's emitter input makes it; the
original stays in the chunk when the rule's KEEP is true and is dropped otherwise. A record
no rule matches, or whose new tag comes out empty, passes unchanged.

The copy holds the acknowledgement of the chunk it came from, so the source's checkpoint
moves only once the copy is delivered too. A rule that matches its own output (``Match *``)
would loop for ever in Fluent Bit, which only warns; here a record re-emitted more than
``MAX_HOPS`` times is dropped with a counted error (see ``docs/compatibility.md``).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, ClassVar

from logtide.agent.core.emitter import FILTER_WITH_EMITTER_OPTIONS, EmitterFilterSettings
from logtide.agent.core.errors import ConfigError
from logtide.agent.core.events import Event
from logtide.agent.core.options import Option, Settings
from logtide.agent.core.plugins import FilterPlugin, PluginContext
from logtide.agent.filters.rewrite_tag_rules import Rule, parse_rule


@dataclass(frozen=True, slots=True, kw_only=True)
class RewriteTagSettings(EmitterFilterSettings):
    rule: list[str]


def _rules(config: RewriteTagSettings) -> list[Rule]:
    return [parse_rule(text, config.where("rule", index)) for index, text in enumerate(config.rule)]


def _copy(value: Any) -> Any:
    """A copy the re-tagged record's filters can change without touching the original."""
    if type(value) is dict:
        return {key: _copy(item) for key, item in value.items()}
    if type(value) is list:
        return [_copy(item) for item in value]
    return value


class RewriteTagFilter(FilterPlugin[RewriteTagSettings]):
    name: ClassVar[str] = "rewrite_tag"
    description: ClassVar[str] = (
        "Re-tag records whose field matches a rule; the copies run through the pipeline again."
    )
    options = (
        *FILTER_WITH_EMITTER_OPTIONS,
        Option(
            "Rule",
            multiple=True,
            keep_variables=True,
            description="'$KEY REGEX NEW_TAG KEEP': the first matching rule re-tags the record "
            "(NEW_TAG may use $TAG, $TAG[n], $0..$9 and record keys); KEEP true also keeps "
            "the original.",
        ),
    )

    @classmethod
    def validate(cls, settings: Settings) -> RewriteTagSettings:
        config = super().validate(settings)
        _rules(config)
        return config

    def __init__(self, settings: Settings, context: PluginContext) -> None:
        super().__init__(settings, context)
        self.rules = _rules(self.config)
        if context.emitter is None:
            raise ConfigError("filter 'rewrite_tag' runs only inside a pipeline", self.location)
        self.emitter = context.emitter
        match = self.config.match
        if match is not None and match.strip("*") == "":
            context.logger.warning(
                "Match %s also takes the re-tagged records: a rule that matches its own "
                "output is cut after a few rounds",
                match,
            )

    def __call__(self, tag: str, events: list[Event]) -> list[Event]:
        rules = self.rules
        if not rules:
            return events
        ruled = [(rule, rule.writer(tag)) for rule in rules]
        kept: list[Event] = []
        # One emit per new tag: the emitter queues a chunk's copies by tag anyway.
        retagged: dict[str, list[Event]] = {}
        for event in events:
            record = event[1]
            for rule, write in ruled:
                found = rule.match(record)
                if found is None:
                    continue
                new_tag = write(record, found)
                if not new_tag:
                    kept.append(event)
                    break
                copy = (event[0], _copy(record)) if rule.keep else event
                if (same := retagged.get(new_tag)) is None:
                    retagged[new_tag] = [copy]
                else:
                    same.append(copy)
                if rule.keep:
                    kept.append(event)
                break
            else:
                kept.append(event)
        for new_tag, copies in retagged.items():
            self.emitter.emit(new_tag, copies)
        return kept
