"""`mautic.json`: the scoring rules Mautic can run, as request bodies for its API.

Mautic keeps one points total per contact, changed by point actions (`page.hit`/`url.hit`,
`form.submit`, `email.open`, `asset.download`, ...) and watched by point triggers. So only
engagement rules on events of those kinds map, and a stage threshold maps to a trigger that
moves the contact to the stage. Everything else is listed under `not_mapped` with the reason,
never dropped silently. Read from `scoring.json`.
"""

from __future__ import annotations

import math

ACTIONS = {
    "url.hit": {"page_view", "page_visit", "pageview", "url_hit", "url_visit", "web_visit",
                "visit", "page_hit"},
    "form.submit": {"form_submit", "form_submission", "form_fill", "form_submitted"},
    "email.open": {"email_open", "email_opened"},
    "asset.download": {"asset_download", "content_download", "download", "file_download"},
}
# The property naming the thing acted on, and the Mautic property listing those things.
TARGETS = {"form.submit": ("forms", ("form", "form_id", "form_name")),
           "email.open": ("emails", ("email", "email_id", "campaign")),
           "asset.download": ("assets", ("asset", "asset_id", "file"))}
URL_PROPS = ("url", "path", "page", "page_url")
NOTES = [
    "Create the stages first, then the point actions and triggers. Mautic refers to forms, "
    "emails, assets and stages by numeric id: replace the policy's names in `forms`, `emails`, "
    "`assets` and `addstage` with those ids, and drop the `_alignctl` keys, before POSTing.",
    "Mautic points do not decay and have no per-rule `max` or per-model cap: where the policy "
    "uses them, the Mautic total only approximates the policy's score (see `_alignctl.caveats`).",
]


class NotMapped(Exception):
    """Why a rule or threshold has no Mautic equivalent."""


def action_type(event: str) -> str | None:
    return next((t for t, names in ACTIONS.items() if event in names), None)


def _where_values(rule: dict, props: tuple[str, ...]) -> list | None:
    """The values an `x == "a"` / `x in [...]` condition allows; None for no condition."""
    node = rule.get("where")
    if node is None:
        return None
    left = node.get("left", {})
    if left.get("op") == "ref" and left.get("name") in props:
        if node["op"] == "==" and node["right"]["op"] == "str":
            return [node["right"]["value"]]
        if node["op"] == "in":
            return list(node["values"])
    raise NotMapped("Mautic can only select which items count (`x == \"a\"` or `x in [...]`), "
                    f"not `{rule.get('where_text')}`")


def _url_pattern(node: dict | None) -> str:
    if node is None:
        return "*"
    left = node.get("left", {})
    if node["op"] == "contains" and left.get("name") in URL_PROPS:
        if "*" in node["value"]:
            raise NotMapped("the URL contains `*`, Mautic's wildcard")
        return f"*{node['value']}*"
    raise NotMapped("Mautic's URL hit matches a whole URL with `*` wildcards; only "
                    "`url contains \"...\"` (or no condition) maps exactly")


def point_action(model: dict, rule: dict) -> dict:
    kind = action_type(rule["on"])
    if kind is None:
        raise NotMapped(f"Mautic has no point action for the event `{rule['on']}`; mapped "
                        "events are page views, form submissions, email opens and downloads")
    props: dict = {}
    if kind == "url.hit":
        props["page_url"] = _url_pattern(rule.get("where"))
    else:
        key, names = TARGETS[kind]
        values = _where_values(rule, names)
        props[key] = values or []
    action = {"name": rule.get("label") or rule["id"], "type": kind, "delta": rule["points"],
              "repeatable": not rule.get("once"), "isPublished": True,
              "description": f"alignctl rule {rule['id']} ({model['id']})", "properties": props,
              "_alignctl": {"rule": rule["id"], "model": model["id"],
                            "caveats": _caveats(model, rule)}}
    return action


def _caveats(model: dict, rule: dict) -> list[str]:
    out = []
    if model.get("half_life_seconds"):
        out.append("no decay in Mautic: every occurrence keeps its full points")
    if rule.get("max") is not None:
        out.append(f"`max: {rule['max']}` is not enforced: Mautic has no per-action limit")
    if model.get("cap") is not None or model.get("min") is not None:
        out.append("the model's cap/min is not enforced")
    return out


def trigger(doc: dict, threshold: dict, mapped_models: set[str]) -> dict:
    stage = next(s for s in doc["stages"] if s["id"] == threshold["stage"])
    score, op, value = threshold["score"], threshold["op"], threshold["value"]
    if score != "score" and score not in mapped_models:
        raise NotMapped(f"`{score}` is not built from point actions Mautic runs")
    if op not in (">=", ">"):
        raise NotMapped(f"Mautic triggers fire when points reach a value, not on `{op}`")
    points = math.floor(value) + 1 if op == ">" else math.ceil(value)
    caveats = [] if threshold["sole"] else [
        f"the entry also requires: {stage['entry_text']}; Mautic triggers on points only"]
    if score == "score":
        caveats.append("`score` includes models Mautic cannot compute (fit)")
    return {"name": f"{stage['label']}: {score} {op} {value}", "points": points,
            "triggerExistingLeads": True, "isPublished": True, "color": "4e5d9d",
            "description": f"alignctl: entry to stage {stage['id']}",
            "events": [{"name": f"Move to {stage['label']}", "type": "lead.changestage",
                        "order": 1, "properties": {"addstage": stage["id"]}}],
            "_alignctl": {"stage": stage["id"], "caveats": caveats}}


def build(doc: dict) -> dict:
    """The mautic.json document for a scoring.json dict."""
    actions, not_mapped, mapped_models = [], [], set()
    for m in doc["models"]:
        for r in m["rules"]:
            if "on" not in r:
                not_mapped.append(_skip("rule", r["id"], m["id"], "fit rules test attributes; "
                                        "Mautic point actions count behaviour"))
                continue
            try:
                actions.append(point_action(m, r))
                mapped_models.add(m["id"])
            except NotMapped as why:
                not_mapped.append(_skip("rule", r["id"], m["id"], str(why)))
    triggers = []
    for t in doc["thresholds"]:
        try:
            triggers.append(trigger(doc, t, mapped_models))
        except NotMapped as why:
            not_mapped.append(_skip("threshold", t["stage"], t["score"], str(why)))
    stages = [{"name": s["label"], "weight": s["index"], "isPublished": True,
               "description": f"alignctl stage {s['id']}", "_alignctl": {"stage": s["id"]}}
              for s in doc["stages"]]
    return {"_policy": doc["_policy"], "notes": NOTES, "stages": stages, "points": actions,
            "triggers": triggers, "not_mapped": not_mapped}


def _skip(kind: str, ident: str, model: str, reason: str) -> dict:
    return {"kind": kind, "id": ident, "model": model, "reason": reason}
