"""The failure classes of the story's service: what goes wrong, how often, how badly, and what
the postmortem says about it. The data lab 5's weekly model runs on.

The story's paging incidents (STORY_FAILURES, keyed by their names in traffic.STORY) and the
classes a service like it meets in a year besides them (MORE_FAILURES). Every number is an assumption of the model, stated here to be
read and changed: how often a class comes back, the share of requests it harms, the minutes to
detect and to mitigate it when nothing watches for it.
"""

from __future__ import annotations

from dataclasses import dataclass

from solution import traffic


@dataclass(frozen=True)
class FailureClass:
    """One way the service fails, with the postmortem's words for it.

    cause          "change": it ships with a release (a launch, a prompt, an index), so a release
                   freeze holds it back; "world": it comes from outside (a provider, a tenant, an
                   attacker) and a freeze does not stop it
    weekly_chance  the chance it happens in a given week
    severity       the share of requests that go bad while it lasts (failed, slower than 6 s by
                   policy, or ungrounded: the SRE book's "errors" include wrong answers by policy)
    ttd_min        median minutes to detect it when no alert rule watches for it
    ttm_min        median minutes from detection to mitigation
    harm           what users saw
    actions        the postmortem's action items, by type: "repair" is done during the incident;
                   "prevent", "detect" and "mitigate" are the future-facing items that become guards
    """
    name: str
    cause: str
    weekly_chance: float
    severity: float
    ttd_min: float
    ttm_min: float
    harm: str
    trigger: str
    root_cause: str
    noticed_by: str
    actions: dict[str, str]
    lesson: str


# The story's four paging incidents, keyed by their names in traffic.STORY. Their ttd_min + ttm_min
# is the incident's window in the story (week 1 is the story's day). The story's on-call is paged
# by the SLO burn rules (lab 2, solution/slo.py): they page the slowdown at 1:15 and the burst at
# 2:09, so those classes take 15 and 9 minutes to detect (tests/test_story_joins.py checks it; at
# 50 % errors the 1 h window cannot reach 14.4x sooner: 0.072 x 60 / 0.5 = 8.6 min). No burn page
# catches the noisy tenant or the drift: people notice them, in the minutes stated below. Severities come from the
# default story: in the slowdown 56 % of interactive answers took over 6 s (traffic.SLOW_MS), and
# 61 % of all requests were slow or failed (the model takes 0.65);
# in the burst 50 % of requests failed; after the launch 32 % of answers were ungrounded. The
# story does not queue requests, so the noisy tenant's 0.20 is this model's assumption.
STORY_FAILURES = {
    "provider slowdown": FailureClass(
        name="provider slowdown", cause="world", weekly_chance=0.30, severity=0.65, ttd_min=15,
        ttm_min=5,
        harm="answers took over 6 s",
        trigger="the model provider served tokens four times slower",
        root_cause="one provider, no fallback model, no cap on requests in flight",
        noticed_by="the latency SLO burn page (1 h & 5 min rule)",
        actions={"repair": "waited for the provider to recover",
                 "prevent": "gate case: 4x slower provider -> fallback model",
                 "detect": "alert: TTFT p95 and in-flight breach together",
                 "mitigate": "concurrency limit that sheds batch first (lab 4)"},
        lesson="latency is the first sign of saturation"),
    "upstream error burst": FailureClass(
        name="upstream error burst", cause="world", weekly_chance=0.25, severity=0.50, ttd_min=9,
        ttm_min=11,
        harm="half the requests failed fast with 503",
        trigger="the vector store became unavailable",
        root_cause="retrieval had no fallback: a store outage became a 503",
        noticed_by="the availability SLO burn page (1 h & 5 min rule)",
        actions={"repair": "restarted the vector store",
                 "prevent": "gate case: vector store down -> degraded answer",
                 "detect": "alert: retrieval 503s, before the SLO burn pages",
                 "mitigate": "retry once on a second replica"},
        lesson="a dependency's outage must degrade the answer, not fail it"),
    "content drift": FailureClass(
        name="content drift", cause="change", weekly_chance=0.20, severity=0.30, ttd_min=150,
        ttm_min=30,
        harm="SmartSync questions got ungrounded answers",
        trigger="the SmartSync launch",
        root_cause="the launched topic had no documents, and the gate no case for it",
        noticed_by="thumbs-down reached support; no alert fired",
        actions={"repair": "indexed the SmartSync documents",
                 "prevent": "eval case: SmartSync answers cite retrieved docs",
                 "detect": "online eval alert: grounded rate drops (lab 3)",
                 "mitigate": "say 'no documents yet' when retrieval finds none"},
        lesson="an offline gate only knows the questions of the past"),
    "noisy batch tenant": FailureClass(
        name="noisy batch tenant", cause="world", weekly_chance=0.30, severity=0.20, ttd_min=6,
        ttm_min=14,
        harm="interactive users waited behind a batch burst",
        trigger="the batch tenant re-ran a month of summaries at 15x",
        root_cause="no per-tenant limit: batch and interactive share capacity",
        noticed_by="the on-call saw saturation near capacity",
        actions={"repair": "asked the tenant to pause the job",
                 "prevent": "gate case: 15x batch burst, interactive p95 flat",
                 "detect": "alert: one tenant above 5x its usual rate",
                 "mitigate": "per-tenant token buckets (lab 4)"},
        lesson="without limits, one tenant's burst is everyone's outage"),
}

# More classes an AI service meets, not (yet) in the story: new classes that can enter.
MORE_FAILURES = (
    FailureClass(
        name="prompt injection", cause="world", weekly_chance=0.15, severity=0.05, ttd_min=240,
        ttm_min=60,
        harm="the assistant obeyed instructions a user injected",
        trigger="a user pasted 'ignore your instructions' text",
        root_cause="user text reached the model with the weight of instructions",
        noticed_by="a customer posted a screenshot",
        actions={"repair": "blocked the account, hardened the system prompt",
                 "prevent": "gate case: known injection prompts get a refusal",
                 "detect": "alert: the guardrail flags injection patterns",
                 "mitigate": "input validation: quote user text, strip markup"},
        lesson="user text is data, never instructions (OWASP LLM01)"),
    FailureClass(
        name="personal data in an answer", cause="change", weekly_chance=0.10, severity=0.02,
        ttd_min=300, ttm_min=60,
        harm="answers showed another customer's e-mail address",
        trigger="an index refresh took in tickets with customer e-mails",
        root_cause="documents were indexed without redaction",
        noticed_by="a customer saw another customer's e-mail address",
        actions={"repair": "removed the documents, re-indexed them redacted",
                 "prevent": "gate case: no answer holds an e-mail or a phone",
                 "detect": "alert: the output guardrail finds personal data",
                 "mitigate": "output filter redacts personal data"},
        lesson="what the retriever can read, the model can repeat (LLM02)"),
    FailureClass(
        name="bad prompt release", cause="change", weekly_chance=0.25, severity=0.25, ttd_min=45,
        ttm_min=20,
        harm="answers got worse after a prompt change",
        trigger="a system prompt change shipped",
        root_cause="the new prompt never ran against the golden set",
        noticed_by="the thumbs-down rate rose",
        actions={"repair": "rolled the prompt back",
                 "prevent": "gate: golden set >= 95 % pass before it ships",
                 "detect": "alert: thumbs-down rate above 2x its baseline",
                 "mitigate": "canary: a new prompt serves 5 % of traffic first"},
        lesson="a prompt is code: test it, canary it, keep the rollback"),
)


def failure_classes(scenario: traffic.Scenario = traffic.STORY) -> tuple[FailureClass, ...]:
    """The story's paging incidents (in the story's order), then the classes yet to enter."""
    paging = [i.name for i in scenario.incidents if i.page]
    unknown = [name for name in paging if name not in STORY_FAILURES]
    if unknown:
        raise ValueError(f"no failure class for the paging incident(s) {unknown}")
    return tuple(STORY_FAILURES[name] for name in dict.fromkeys(paging)) + MORE_FAILURES
