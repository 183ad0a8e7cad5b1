"""The reference evaluator's semantics, one rule of docs/scoring.md at a time."""

from __future__ import annotations

from datetime import date, datetime, timedelta, timezone

import pytest

from alignctl.evaluator import round2, score_lead, utc_naive

from .test_scoring_diff import AS_OF, DOC

DAY = 86400
HL = 10 * DAY


def score(lead: dict | None = None, events: list[dict] | None = None, as_of=AS_OF):
    return score_lead(DOC, {"lead_id": "x", **(lead or {})}, events or [], as_of)


def ev(name: str, age_seconds: float = 0, **props) -> dict:
    return {"event": name, "occurred_at": AS_OF - timedelta(seconds=age_seconds), **props}


def fired(result) -> dict[str, float]:
    return {f.rule: f.points for f in result.trace}


# --- three-valued logic ---------------------------------------------------------------------


def test_missing_attribute_is_unknown_and_the_rule_does_not_fire() -> None:
    assert "size" not in fired(score({}))
    assert "size" in fired(score({"employees": 100}))


def test_not_unknown_is_unknown() -> None:
    # vip and not (revenue < 1000): with revenue missing, `not unknown` is unknown
    assert "vip" not in fired(score({"vip": True}))
    assert "vip" in fired(score({"vip": True, "revenue": 1000}))


def test_unknown_or_true_is_true_and_unknown_and_false_is_false() -> None:
    assert "saas" in fired(score({"tools": {"crm"}}))          # industry unknown OR true
    assert "not_retail" not in fired(score({"employees": 5}))  # unknown AND false


def test_multi_enum_contains_reads_lists_and_semicolon_strings() -> None:
    assert "saas" in fired(score({"tools": "erp;crm"}))
    assert "saas" not in fired(score({"tools": ["erp"]}))


def test_string_tests_are_case_sensitive_and_regexes_search() -> None:
    assert "gmail" not in fired(score({"email": "A@GMAIL.COM"}))
    assert "boss" in fired(score({"title": "Head of IT"}))
    assert "boss" not in fired(score({"title": "the VP"}))    # anchored with ^ in the policy


def test_values_from_csv_text_are_coerced() -> None:
    got = score({"employees": "120", "vip": "true", "revenue": "5000.5", "recycle_count": ""})
    assert {"size", "vip"} <= set(fired(got))


# --- engagement ------------------------------------------------------------------------------


def test_decay_halves_points_per_half_life() -> None:
    got = score(events=[ev("page_view", HL, url="/docs")])
    assert fired(got)["any_view"] == pytest.approx(0.5)


def test_events_after_as_of_are_ignored() -> None:
    assert fired(score(events=[ev("page_view", -1, url="/pricing")])) == {}


def test_max_bounds_the_decayed_sum() -> None:
    views = [ev("page_view", 0, url="/pricing") for _ in range(5)]
    got = score(events=views)
    pricing = next(f for f in got.trace if f.rule == "pricing")
    assert pricing.points == 12 and pricing.limited and pricing.occurrences == 5


def test_max_bounds_negative_points_from_below() -> None:
    got = score(events=[ev("unsubscribe") for _ in range(3)])
    assert fired(got)["unsub"] == -25
    assert got.scores["engagement"] == -20          # and the model min clamps further


def test_once_counts_the_earliest_occurrence_only() -> None:
    got = score(events=[ev("form_submit", 0, form="demo"), ev("form_submit", HL, form="demo")])
    demo = next(f for f in got.trace if f.rule == "demo")
    assert demo.points == pytest.approx(15) and demo.occurrences == 1


def test_cap_clamps_the_model_total() -> None:
    events = [ev("form_submit", form="demo"), ev("webinar")] + [ev("page_view", url="/pricing")] * 9
    assert score(events=events).scores["engagement"] == 50


def test_a_model_without_decay_counts_occurrences() -> None:
    got = score(events=[ev("form_submit", 5 * HL, form="trial")] * 2)
    assert got.scores["intent"] == 8 + 3


# --- rounding, grades ---------------------------------------------------------------------------


@pytest.mark.parametrize(("value", "want"), [(0.125, 0.12), (0.375, 0.38), (-0.125, -0.12),
                                             (2.675, 2.68), (1.005, 1.0), (7.0, 7.0)])
def test_round2_is_half_even_on_value_times_100(value: float, want: float) -> None:
    # 2.675 * 100 is exactly 267.5 in binary floating point: a tie, to even (268)
    assert round2(value) == want


def test_grades_best_first_and_d_below_the_last() -> None:
    assert score({"employees": 100, "industry": "saas"}).grade == "A"     # 20 + 15 + 3
    assert score({"employees": 100}).grade == "B"                        # 20 + 3
    assert score({"email": "test@x.io"}).grade == "D"                    # -20


# --- stages -------------------------------------------------------------------------------------


def test_a_new_lead_starts_in_the_first_stage() -> None:
    assert score({}).stage == "lead"


def test_stages_move_forward_only() -> None:
    assert score({"stage": "won"}).stage == "won"
    assert score({"stage": "nonsense"}).stage == "lead"


def test_furthest_stage_whose_entry_holds() -> None:
    lead = {"employees": 100, "industry": "saas"}
    views = [ev("page_view", DAY, url="/pricing"), ev("page_view", 2 * DAY, url="/pricing")]
    got = score(lead, views)            # fit 38 (A), engagement 10.82, score 48.82
    assert got.entries["mql"] is True and got.entries["hot"] is True
    assert got.stage == "hot"
    assert score({"industry": "saas"}, views).stage == "mql"     # score 25.82


def test_accepted_reads_the_stage_checkbox_and_days_in_stage_the_current_stage() -> None:
    lead = {"stage": "mql", "sal_accepted": True, "mql_entered_at": AS_OF - timedelta(days=2)}
    assert score(lead).stage == "sal"
    assert score({**lead, "sal_accepted": None}).entries["sal"] is None
    lead["mql_entered_at"] = AS_OF - timedelta(hours=2)
    assert score(lead).stage == "mql"


def test_days_since_a_date_is_negative_in_the_future() -> None:
    future = {"renewal": AS_OF.date() + timedelta(days=10)}
    trial = [ev("form_submit", DAY, form="trial")]
    assert score(future, trial).stage == "hot"
    later = {"renewal": AS_OF.date() + timedelta(days=40)}
    # false or (true and false) or unknown (no page view): unknown, so not entered
    assert score(later, trial).entries["hot"] is None
    assert score(later, trial).stage == "lead"


def test_days_since_an_event_is_unknown_without_one() -> None:
    assert score({}).entries["hot"] is None
    assert score({}, [ev("page_view", 3600, url="/")]).stage == "hot"


def test_count_and_has_over_no_events_are_zero_and_false() -> None:
    got = score({"employees": 100, "industry": "saas"}, [ev("form_submit", form="demo")])
    assert got.entries["mql"] is False        # count(page_view within 7d) is 0, not unknown


# --- time ----------------------------------------------------------------------------------------


def test_aware_and_naive_timestamps_are_utc() -> None:
    aware = datetime(2025, 3, 1, 14, 0, tzinfo=timezone(timedelta(hours=2)))
    assert utc_naive(aware) == AS_OF
    assert utc_naive("2025-03-01T12:00:00Z") == AS_OF
    assert utc_naive(date(2025, 3, 1)) == datetime(2025, 3, 1)
    got = score(events=[{"event": "page_view", "occurred_at": aware, "url": "/"}])
    assert fired(got)["any_view"] == 1


def test_datetime_fields_measure_fractional_days() -> None:
    lead = {"last_call": AS_OF - timedelta(days=2, hours=1)}
    trial = [ev("form_submit", form="trial")] * 3
    assert score(lead, trial).entries["won"] is False
    lead["last_call"] = AS_OF - timedelta(days=1, hours=23)
    assert score(lead, trial).entries["won"] is True
