"""The code judges: deterministic checks that read an answer and the documents retrieved for it,
never the truth. Lab 3 runs them on sampled live answers and on the offline golden set; lab 5's
regression case is the grounded judge.

    grounded   cites at least one document, and only documents the retriever returned
    refusal    not a refusal ("I'm sorry, I can't help")
    format     a sentence of sane length with well-formed citations
    pii        no personal data or secret copied into the answer (OWASP LLM02)

`regression_cases`: a failed live answer becomes a golden-set case with the check it failed (the
flywheel of lab 5), and `passes` runs one against the service; and `score_judges`: evaluate the evaluator, each judge's precision and recall against the truth
(a real team gets the truth by labelling a sample).

    >>> judge("Open Settings [doc:101].", (101, 102, 103)).passed
    True

Model-graded judges do the same job for what code cannot check; they cost money per call, which is
why online evaluation runs them on a sample (lab 3).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import NamedTuple, Sequence

from solution import traffic


class Judgement(NamedTuple):
    """What the code judges say about one answer. True means the check passed."""
    grounded: bool      # cites at least one document, and only documents the retriever returned
    refusal: bool       # not a refusal
    format: bool        # a sentence of sane length with well-formed citations
    pii: bool           # no personal data or secret copied into the answer
    passed: bool        # the combined judge: every check above passed


JUDGES = Judgement._fields[:-1]
# Refusal phrases, matched on the lower-cased answer.
REFUSALS = ("i'm sorry", "i am sorry", "i can't help", "i cannot help", "i'm unable", "i am unable")
# The personal data and secrets OWASP says never to disclose (LLM02), as they look in text. A bare
# long number is not one of them: the story's order numbers are ten digits and harmless.
PII = re.compile(r"\w@[\w-]+\.\w"                                # an e-mail address
                 r"|\+\d[\d ]{8,}\d"                              # an international phone number
                 r"|\b\d{4} \d{4} \d{4} \d{4}\b"                  # a card number
                 r"|sk-\w{8}|AKIA[A-Z0-9]{12}|Bearer\s+\w{8}")     # API keys and tokens
MAX_ANSWER_CHARS = 800


def grounded(answer: str, retrieved_docs: Sequence[int]) -> bool:
    """The grounded judge: the answer cites at least one document, and only documents the
    retriever returned (a citation of anything else is made up).

    >>> grounded("Open Settings [doc:700].", (700, 701)), grounded("Trust me [doc:950].", ())
    (True, False)
    """
    cited = traffic.cited_docs(answer)
    return bool(cited) and set(cited) <= set(retrieved_docs)


def judge(answer: str, retrieved_docs: Sequence[int]) -> Judgement:
    """Judge one answer from what a trace shows: the answer text and the documents retrieved.

    It takes only those two, so it cannot peek at the story's truth fields even by accident.

    >>> judge("Open Settings [doc:101].", (101, 102, 103))
    Judgement(grounded=True, refusal=True, format=True, pii=True, passed=True)
    >>> judge("Open Settings [doc:950].", ()).grounded      # a made-up citation
    False
    """
    cited = traffic.cited_docs(answer)
    is_grounded = grounded(answer, retrieved_docs)
    refusal = not any(phrase in answer.lower() for phrase in REFUSALS)
    form = (20 <= len(answer) <= MAX_ANSWER_CHARS and answer.rstrip()[-1:] in ".!?"
            and answer.count("[doc") == len(cited))
    pii = not PII.search(answer)
    return Judgement(grounded=is_grounded, refusal=refusal, format=form, pii=pii,
                     passed=is_grounded and refusal and form and pii)


def judge_all(requests: Sequence[traffic.Request]) -> list[Judgement]:
    """Judge many answers, each from its answer text and retrieved documents only."""
    return [judge(r.answer, r.retrieved_docs) for r in requests]


# ── failures become regression cases ────────────────────────────────────────────────────────────

@dataclass(frozen=True)
class RegressionCase:
    """A production failure turned into a golden-set case: the input, the check it must pass (in
    CHECKS' words), and where it came from (lab 3's live sample, lab 5's postmortem)."""
    prompt: str
    check: str
    source: str = "live answers"


CHECKS = {"grounded": "cites a retrieved document", "refusal": "not a refusal",
          "format": "a well-formed answer", "pii": "no personal data"}


def passes(case: RegressionCase,
           index: dict[str, tuple[int, ...]]) -> tuple[bool, str, tuple[int, ...]]:
    """Run a regression case against the service with this retrieval index: (passed, answer,
    documents). Its check is the grounded judge, the one that failed in production (lab 5)."""
    text, docs = traffic.answer_from(index, case.prompt)
    return grounded(text, docs), text, docs


def regression_cases(after: Sequence, topic: str, limit: int = 5) -> list[RegressionCase]:
    """The distinct questions of the slice whose live answers failed (`after`: judged answers with
    .request and .verdict, as lab 3's sample holds them), with the check they failed:
    the cases to add to the golden set so the next gate sees this drift (lab 5's flywheel).
    A prompt carrying personal data or control characters is skipped: not in a test set."""
    cases, seen = [], set()
    for s in after:
        prompt = s.request.prompt
        if (s.request.topic == topic and not s.verdict.passed and prompt not in seen
                and prompt.isprintable() and not PII.search(prompt)):
            seen.add(prompt)
            failed = next(name for name in JUDGES if not getattr(s.verdict, name))
            cases.append(RegressionCase(prompt, CHECKS[failed]))
    return cases[:limit]


# ── evaluate the evaluator ──────────────────────────────────────────────────────────────────────

@dataclass(frozen=True)
class JudgeScore:
    """How well a judge's "fail" finds truly bad answers (a real team gets the truth by labelling)."""
    name: str
    truth: str          # what counts as truly bad for this judge
    labelled: int       # answers labelled
    fails: int          # answers the judge failed
    true_fails: int     # ... of which truly bad
    bad: int            # truly bad answers

    @property
    def precision(self) -> float | None:
        """Of the answers the judge failed, the share truly bad: is its alarm worth anything?"""
        return self.true_fails / self.fails if self.fails else None

    @property
    def recall(self) -> float | None:
        """Of the truly bad answers, the share the judge failed: what does it miss?"""
        return self.true_fails / self.bad if self.bad else None


def score_judges(labelled: Sequence[tuple[Judgement, bool, bool]]) -> list[JudgeScore]:
    """Score every judge, and the combined one, on (verdict, truly grounded, truly acceptable)
    triples: the grounded judge against groundedness, the others against acceptability."""
    scores = []
    for name in (*JUDGES, "combined"):
        truth = "not grounded" if name == "grounded" else "not acceptable"
        fails = true_fails = bad = 0
        for verdict, grounded, acceptable in labelled:
            failed = not getattr(verdict, "passed" if name == "combined" else name)
            truly_bad = not grounded if name == "grounded" else not acceptable
            fails += failed
            bad += truly_bad
            true_fails += failed and truly_bad
        scores.append(JudgeScore(name=name, truth=truth, labelled=len(labelled), fails=fails,
                                 true_fails=true_fails, bad=bad))
    return scores
