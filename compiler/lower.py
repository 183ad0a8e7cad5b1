"""Lower a schema-valid `RawDocument` to the IR, resolving every reference.

Reports ALN003 (expression syntax), ALN101 (unknown references, one per name with a use count),
ALN102 (ids defined twice) and ALN2xx (expression types).
"""

from __future__ import annotations

import re
from collections import defaultdict

from alignctl.policy.codes import CODES
from alignctl.policy.diagnostics import Sink, Span, did_you_mean, make
from alignctl.policy.english import default_label
from alignctl.policy.expr import SyntaxProblem, parse, walk
from alignctl.policy.expr_ast import BOOLEAN, INTEGER, NUMBER, Ref
from alignctl.policy.loader import RawDocument
from alignctl.policy.textpos import SourceText, locator
from alignctl.policy.yamlpos import MapPos, Scalar, span_of

from . import ir
from .typecheck import Env, check

LINK = re.compile(r"\[\[([^\[\]]*)\]\]")
UNITS = {"m": 60, "h": 3600, "d": 86400, "w": 604800}
EVENT_COLUMNS = ("lead_id", "event", "occurred_at")
BUILTINS = {"accepted": BOOLEAN, "days_in_stage": NUMBER, "recycle_count": INTEGER}


def duration(text: str | None) -> ir.Dur | None:
    if text is None:
        return None
    return ir.Dur(text, int(text[:-1]) * UNITS[text[-1]])


def _values(raw: list | dict | None, spans=None) -> tuple[ir.EnumValue, ...]:
    """Enum values from a list of ids / `{id: label}` pairs, or one `{id: label}` mapping."""
    if isinstance(raw, dict):
        raw = [{k: v} for k, v in raw.items()]
    out = []
    for i, v in enumerate(raw or ()):
        (ident, label), = v.items() if isinstance(v, dict) else ((v, default_label(v)),)
        out.append(ir.EnumValue(ident, label, spans(i, ident) if spans else None))
    return tuple(out)


def _label(ident: str) -> str:
    return default_label(ident)


class Lowerer:
    def __init__(self, doc: RawDocument, sink: Sink) -> None:
        self.doc, self.sink = doc, sink
        self.data: dict = doc.data
        self.texts: dict[str, SourceText] = {}
        self.unknown: dict[tuple[str, str], list] = defaultdict(list)

    # --- positions ---------------------------------------------------------------------------
    def loc(self, path: tuple) -> ir.Loc:
        node = self.doc.get(path)
        p = self.doc.pos.of(node)
        attrs = {k: span_of(v) for k, v in p.values.items()} if isinstance(p, MapPos) else {}
        return ir.Loc(self.doc.locate(path, key=True), attrs)

    def at(self, path: tuple) -> Span:
        return self.doc.locate(path)

    def source(self, file: str) -> SourceText:
        if file not in self.texts:
            self.texts[file] = SourceText(self.doc.sources.get(file, ""))
        return self.texts[file]

    def string_locator(self, path: tuple, value: str):
        rec = self.doc.scalar(path)
        if not isinstance(rec, Scalar):
            span = self.at(path)
            return lambda s, e: span
        return locator(self.source(rec.span.file), rec, value)

    # --- reporting ---------------------------------------------------------------------------
    def error(self, code: str, message: str, span: Span, **kw) -> None:
        self.sink.add(make(code, message, span, **kw))

    def unknown_ref(self, what: str, name: str, span: Span, candidates, message: str | None = None,
                    help: str | None = None) -> None:
        """Collect an ALN101; repeats of the same unknown name become one diagnostic."""
        self.unknown[(what, name)].append(
            (span, message or f"unknown {what} `{name}`", help or did_you_mean(name, candidates)))

    def flush_unknown(self) -> None:
        for uses in self.unknown.values():
            uses.sort(key=lambda u: (u[0].file, u[0].line, u[0].column))
            span, message, help = uses[0]
            notes = (f"used {len(uses)} times; the first use is shown",) if len(uses) > 1 else ()
            self.error("ALN101", message, span, notes=notes, help=help)

    def ref(self, what: str, name: str | None, pool, span: Span) -> None:
        if name is not None and name not in pool:
            self.unknown_ref(what, name, span, pool)

    # --- conditions --------------------------------------------------------------------------
    def condition(self, path: tuple, env: Env) -> ir.Condition | None:
        text = self.doc.get(path)
        locate = self.string_locator(path, text)
        parsed = parse(text)
        if isinstance(parsed, SyntaxProblem):
            self.error("ALN003", parsed.message, locate(parsed.start, parsed.end),
                       help=parsed.help)
            return None
        typed, _, problems = check(parsed, env)
        for p in problems:
            span = locate(p.start, p.end)
            if p.code == "ALN101" and p.name:
                self.unknown_ref("name", p.name, span, (), message=p.message, help=p.help)
            else:
                self.error(p.code, p.message, span, help=p.help, notes=p.notes)
        return ir.Condition(text, typed, self.at(path), locate)

    def links(self, path: tuple, text: str | None) -> tuple[ir.TermLink, ...]:
        if not text:
            return ()
        locate = self.string_locator(path, text)
        terms = self.data.get("terms") or {}
        out = []
        for m in LINK.finditer(text):
            span = locate(m.start(), m.end())
            name = m.group(1).strip()
            if name not in terms:
                self.unknown_ref("term link", name, span, terms,
                                 message=f"unknown term `[[{name}]]`")
            out.append(ir.TermLink(name, span))
        return tuple(out)

    # --- sections ----------------------------------------------------------------------------
    def meta(self) -> ir.Meta:
        m = self.data["policy"]
        return ir.Meta(m["name"], m["version"], m["period"], m.get("description"),
                       self.loc(("policy",)))

    def teams(self) -> dict[str, ir.Team]:
        teams = {}
        for tid, t in self.data["teams"].items():
            path = ("teams", tid)
            cap = t.get("capacity")
            capacity = ir.Capacity(**cap) if cap else None
            self.check_capacity(path, t, cap)
            teams[tid] = ir.Team(tid, t["kind"], t.get("label") or _label(tid), t.get("lead"),
                                 t.get("description"), t.get("reps"), capacity, self.loc(path))
        kinds = {t.kind for t in teams.values()}
        for kind in ("marketing", "sales"):
            if kind not in kinds:
                self.error("ALN002", f"the policy needs at least one {kind} team",
                           self.doc.locate(("teams",), key=True),
                           help=f"add a team with `kind: {kind}`: the agreement has two sides")
        return teams

    def check_capacity(self, path: tuple, team: dict, cap: dict | None) -> None:
        if not cap:
            return
        if "leads_per_rep" in cap and ("hours_per_rep" in cap or "minutes_per_lead" in cap):
            self.error("ALN002", "state capacity either as leads_per_rep or as hours_per_rep "
                       "with minutes_per_lead, not both", self.at(path + ("capacity",)))
        elif "leads_per_rep" not in cap and not ("hours_per_rep" in cap and "minutes_per_lead" in cap):
            self.error("ALN002", "capacity needs both hours_per_rep and minutes_per_lead "
                       "(or leads_per_rep)", self.at(path + ("capacity",)))
        if "reps" not in team:
            self.error("ALN002", "a team with a capacity needs `reps`",
                       self.doc.locate(path, key=True), help="add `reps: N`")

    def fields(self, teams) -> dict[str, ir.Field]:
        out = {}
        for fid, f in (self.data.get("fields") or {}).items():
            path = ("fields", fid)
            self.ref("team", f.get("owner"), teams, self.at(path + ("owner",)))
            values = self.values(path + ("values",))
            self.unique_values(path + ("values",), values)
            crm = f.get("crm")
            out[fid] = ir.Field(fid, f["type"], values, f.get("label") or _label(fid),
                                f.get("description"), f.get("owner"), f.get("source"),
                                bool(f.get("required", False)), self.loc(path),
                                tuple((p, n or None) for p, n in (crm or {}).items()),
                                self.loc(path + ("crm",)) if crm is not None else None)
        return out

    def values(self, path: tuple) -> tuple[ir.EnumValue, ...]:
        """The enum values at `path`, each with the span where it is written."""
        raw = self.doc.get(path) if path[-1] in self.doc.get(path[:-1]) else None
        mapping = isinstance(raw, dict)

        def span(i: int, ident: str) -> Span:
            return self.doc.locate(path + ((ident,) if mapping else (i,)), key=mapping)
        return _values(raw, span)

    def unique_values(self, path: tuple, values) -> None:
        seen: set[str] = set()
        for i, v in enumerate(values):
            if v.id in seen:
                self.error("ALN102", f"value `{v.id}` is listed twice", self.at(path + (i,)))
            seen.add(v.id)

    def events(self) -> dict[str, ir.Event]:
        out = {}
        for eid, e in (self.data.get("events") or {}).items():
            e = e or {}
            props = {}
            for pid, p in (e.get("properties") or {}).items():
                ppath = ("events", eid, "properties", pid)
                spec = {"type": p} if isinstance(p, str) else p
                values = self.values(ppath + ("values",)) if isinstance(p, dict) else ()
                self.unique_values(ppath + ("values",), values)
                props[pid] = ir.Property(pid, spec["type"], values,
                                         spec.get("label") or _label(pid), self.loc(ppath))
            out[eid] = ir.Event(eid, e.get("label") or _label(eid), e.get("description"), props,
                                self.loc(("events", eid)))
        return out

    def terms(self) -> dict[str, ir.Term]:
        out = {}
        for tid, t in (self.data.get("terms") or {}).items():
            path = ("terms", tid)
            for i, team in enumerate(t.get("approved_by") or ()):
                self.ref("team", team, self.data["teams"], self.at(path + ("approved_by", i)))
            loc = self.loc(path)
            loc.attrs.update({f"aliases.{i}": self.at(path + ("aliases", i))
                              for i in range(len(t.get("aliases") or ()))})
            out[tid] = ir.Term(tid, t["name"], t["definition"], tuple(t.get("approved_by") or ()),
                               tuple(t.get("aliases") or ()),
                               self.links(path + ("definition",), t["definition"]), loc)
        return out

    def env(self, fields, events, models=(), grades=None, *, scores: bool = False) -> Env:
        return Env(
            fields={f.id: f.etype for f in fields.values()},
            events={e.id: {p.id: p.etype for p in e.properties.values()} for e in events.values()},
            models=tuple(models), grades=grades, allow_scores=scores,
            builtins=BUILTINS if scores else {"recycle_count": INTEGER},
            stages=tuple(s.get("id") for s in self.data["stages"]),
        )

    def models(self, fields, events) -> dict[str, ir.Model]:
        scoring = self.data.get("scoring") or {}
        out: dict[str, ir.Model] = {}
        rule_ids: dict[str, Span] = {}
        graded: str | None = None
        base_env = self.env(fields, events)
        for mid, m in (scoring.get("models") or {}).items():
            path = ("scoring", "models", mid)
            if m.get("grades"):
                if graded:
                    self.error("ALN102", f"grades are already declared by model `{graded}`; "
                               "a policy has one grade scale", self.doc.locate(path + ("grades",),
                                                                               key=True))
                graded = graded or mid
            rules = tuple(self.rule(path + ("rules", i), mid, m["kind"], r, base_env, events,
                                    rule_ids)
                          for i, r in enumerate(m.get("rules") or ()))
            grades = tuple((m.get("grades") or {}).items())  # as written: ALN403 checks order
            loc = self.loc(path)
            loc.attrs.update({f"grades.{g}": self.doc.locate(path + ("grades", g), key=True)
                              for g, _ in grades})
            out[mid] = ir.Model(mid, m["kind"], m.get("label") or _label(mid), m.get("description"),
                                duration((m.get("decay") or {}).get("half_life")), m.get("cap"),
                                m.get("min"), grades, rules, loc)
        return out

    def rule(self, path, model_id, kind, r, env: Env, events, rule_ids) -> ir.Rule:
        rid = r["id"]
        span = self.at(path + ("id",))
        if rid in rule_ids:
            first = rule_ids[rid]
            self.error("ALN102", f"rule id `{rid}` is defined twice (first at line {first.line})",
                       span, related=(("first defined here", first),))
        rule_ids.setdefault(rid, span)
        self.misplaced(path, r, kind)
        when = self.condition(path + ("when",), env) if "when" in r and kind == "fit" else None
        where = None
        on = r.get("on") if kind == "engagement" else None
        if on is not None and on not in events:
            self.unknown_ref("event", on, self.at(path + ("on",)), events)
        elif on is not None and "where" in r:
            where = self.condition(path + ("where",), Env(
                fields={}, events=env.events, event=on,
                stages=env.stages))
        return ir.Rule(rid, model_id, r.get("label"), r.get("description"), when, on, where,
                       r["points"], r.get("max"), bool(r.get("once", False)), self.loc(path))

    def misplaced(self, path, r, kind) -> None:
        wrong = ("on", "where", "max", "once") if kind == "fit" else ("when",)
        for key in wrong:
            if key in r:
                what = "engagement rules" if kind == "fit" else "fit rules"
                self.error("ALN002", f"`{key}` belongs to {what}, not to a {kind} rule",
                           self.doc.locate(path + (key,), key=True),
                           help="fit rules test attributes with `when:`; engagement rules count "
                                "events with `on:` and `where:`")

    def stages(self, teams, fields, events, models) -> tuple[ir.Stage, ...]:
        grades = next((tuple(g for g, _ in m.grades) for m in models.values() if m.grades), None)
        if grades and "D" not in grades:
            grades += ("D",)  # POLICY.md: below the last grade is D
        env = self.env(fields, events, models, grades, scores=True)
        seen: dict[str, Span] = {}
        out = []
        terms = self.data.get("terms") or {}
        for i, s in enumerate(self.data["stages"]):
            path = ("stages", i)
            span = self.at(path + ("id",))
            if s["id"] in seen:
                first = seen[s["id"]]
                self.error("ALN102", f"stage `{s['id']}` is defined twice "
                           f"(first at line {first.line})", span,
                           related=(("first defined here", first),))
            seen.setdefault(s["id"], span)
            if s["owner"] not in teams:
                self.error("ALN302", f"stage owner `{s['owner']}` is not a team",
                           self.at(path + ("owner",)),
                           help=did_you_mean(s["owner"], teams) or "owners are team ids")
            self.ref("term", s.get("term"), terms, self.at(path + ("term",)))
            term = s.get("term") or (s["id"] if s["id"] in terms else None)
            entry = self.condition(path + ("entry",), env) if "entry" in s else None
            out.append(ir.Stage(
                s["id"], i, s.get("label") or _label(s["id"]), s["owner"], s.get("journey"),
                s.get("definition"), self.links(path + ("definition",), s.get("definition")),
                term, entry, duration(s.get("max_age")), s.get("terminal"),
                self.loc(path)))
        return tuple(out)

    def handoffs(self, stage_ids, reasons) -> tuple[ir.Handoff, ...]:
        out = []
        for i, h in enumerate(self.data.get("handoffs") or ()):
            path = ("handoffs", i)
            for end in ("from", "to"):
                self.ref("stage", h[end], stage_ids, self.at(path + (end,)))
            rejects = []
            for j, rid in enumerate(h.get("reject_reasons") or ()):
                at = self.at(path + ("reject_reasons", j))
                self.ref("reason", rid, reasons, at)
                rejects.append((rid, at))
            sla = h.get("sla")
            sla_ir = ir.SLA(duration(sla.get("accept_within")),
                            duration(sla.get("first_touch_within")), sla.get("attempts"),
                            duration(sla.get("over")), self.loc(path + ("sla",))) if sla else None
            out.append(ir.Handoff(h["from"], h["to"], h.get("route", "round_robin"), sla_ir,
                                  tuple(rejects), self.loc(path)))
        return tuple(out)

    def disqualification(self, stage_ids, fields) -> ir.Disqualification | None:
        d = self.data.get("disqualification")
        if d is None:
            return None
        reasons = {}
        for rid, r in (d.get("reasons") or {}).items():
            path = ("disqualification", "reasons", rid)
            r = r or {}
            reasons[rid] = ir.Reason(rid, r.get("label") or _label(rid), r.get("description"),
                                     self.recycle(path, r.get("recycle"), stage_ids, fields),
                                     self.loc(path))
        field_id = d.get("field", "disqualification_reason")
        return ir.Disqualification(field_id, d.get("max_recycles"), reasons,
                                   self.loc(("disqualification",)))

    def recycle(self, path, rec, stage_ids, fields) -> ir.Recycle | None:
        if rec is None:
            return None
        if rec == "never":
            return ir.Recycle(True, loc=self.loc(path))
        rpath = path + ("recycle",)
        self.ref("stage", rec["to"], stage_ids, self.at(rpath + ("to",)))
        self.ref("field", rec.get("before"), fields, self.at(rpath + ("before",)))
        if "after" not in rec and "before" not in rec:
            self.error("ALN002", "a recycle rule needs `after:` or `before:` (when to recycle)",
                       self.at(rpath), help="e.g. `recycle: { to: inquiry, after: 90d }`")
        return ir.Recycle(False, rec["to"], duration(rec.get("after")), rec.get("before"),
                          duration(rec.get("lead_time")), self.loc(rpath))

    def plan(self, stage_ids) -> ir.Plan | None:
        p = self.data.get("plan")
        if p is None:
            return None
        attrs: dict[str, Span] = {}
        for section in ("volumes", "conversion", "commitments"):
            for sid in p.get(section) or {}:
                span = self.doc.locate(("plan", section, sid), key=True)
                attrs[f"{section}.{sid}"] = span
                self.ref("stage", sid, stage_ids, span)
        for key in p:
            attrs.setdefault(key, self.doc.locate(("plan", key)))
        rt = p.get("revenue_target")
        target = ir.RevenueTarget(rt["amount"], rt.get("currency", "USD"), rt["per"]) if rt else None
        return ir.Plan(target, p.get("average_deal_size"), dict(p.get("volumes") or {}),
                       dict(p.get("conversion") or {}), dict(p.get("commitments") or {}),
                       ir.Loc(self.doc.locate(("plan",), key=True), attrs))

    def targets(self, stage_ids=()) -> ir.Targets:
        t = self.data.get("targets") or {}
        crm, scoring, docs = t.get("crm") or {}, t.get("scoring") or {}, t.get("docs") or {}
        convert_at = crm.get("convert_at")
        if convert_at is not None:
            self.ref("stage", convert_at, stage_ids, self.at(("targets", "crm", "convert_at")))
        sf = crm.get("salesforce") or {}
        return ir.Targets(
            tuple(crm.get("platforms", ("salesforce", "hubspot", "espocrm"))),
            crm.get("object", "Lead"), crm.get("prefix", ""),
            tuple(scoring.get("dialects", ("duckdb", "postgres", "snowflake", "bigquery", "spark"))),
            tuple(docs.get("formats", ("markdown", "html"))),
            self.loc(("targets",)) if "targets" in self.data else ir.Loc(self.doc.locate(())),
            convert_at if convert_at in stage_ids else None,
            sf.get("api_version", ir.SALESFORCE_API_VERSION))

    def severity_loc(self) -> ir.Loc | None:
        if "severity" not in (self.data.get("checks") or {}):
            return None
        return self.loc(("checks", "severity"))

    def severity(self) -> dict[str, str]:
        sev = ((self.data.get("checks") or {}).get("severity")) or {}
        for code in sev:
            if code not in CODES:
                self.error("ALN101", f"unknown check code `{code}`",
                           self.doc.locate(("checks", "severity", code), key=True),
                           help=did_you_mean(code, CODES))
        return {c: ("off" if s is False else s) for c, s in sev.items() if c in CODES}

    def generated_clashes(self, fields, models, stages, handoffs, disq) -> None:
        """ALN103: a policy field may not take the id of a field the crm target generates."""
        generated = generated_fields(models, stages, handoffs, disq)
        for fid, f in fields.items():
            if fid in generated:
                self.error("ALN103", f"field `{fid}` clashes with the generated field "
                           f"`{fid}` ({generated[fid]})", f.loc.span,
                           help="rename the field; alignctl creates and maintains this one")
        if "lead" in models:
            self.error("ALN103", "model `lead` would name its score `lead_score`, the total of "
                       "all models", models["lead"].loc.span, help="rename the model")

    def event_columns(self, events) -> None:
        """ALN103: the scoring input has one `events` column per property name."""
        seen: dict[str, tuple[str, ir.Property]] = {}
        for event in events.values():
            for prop in event.properties.values():
                if prop.id in EVENT_COLUMNS:
                    self.error("ALN103", f"property `{prop.id}` clashes with the `{prop.id}` "
                               "column every event has", prop.loc.span, help="rename the property")
                first = seen.setdefault(prop.id, (event.id, prop))
                if first[1].etype != prop.etype:
                    self.error(
                        "ALN103", f"property `{prop.id}` is {prop.type} on `{event.id}` but "
                        f"{first[1].type} on `{first[0]}`", prop.loc.span,
                        related=((f"on `{first[0]}`", first[1].loc.span),),
                        notes=("events share one column per property name in the scoring input",),
                        help="give the two properties different names, or the same type")

    def lower(self) -> ir.Policy:
        teams = self.teams()
        fields = self.fields(teams)
        events = self.events()
        terms = self.terms()
        models = self.models(fields, events)
        stages = self.stages(teams, fields, events, models)
        stage_ids = {s.id for s in stages}
        disq = self.disqualification(stage_ids, fields)
        handoffs = self.handoffs(stage_ids, disq.reasons if disq else {})
        self.generated_clashes(fields, models, stages, handoffs, disq)
        self.event_columns(events)
        policy = ir.Policy(self.meta(), teams, fields, events, terms, models, stages, handoffs,
                           disq, self.plan(stage_ids), self.targets(stage_ids), self.severity(),
                           tuple(self.doc.sources), self.severity_loc())
        self.flush_unknown()
        return policy


def lower(doc: RawDocument, sink: Sink) -> ir.Policy:
    """The IR of `doc` (which must have passed the schema); problems go to `sink`."""
    return Lowerer(doc, sink).lower()




def generated_fields(models, stages, handoffs, disq) -> dict[str, str]:
    """Ids of the CRM fields the crm target generates (TARGETS.md), with what each holds."""
    out = {"lead_id": "the lead's key in the scoring input", "stage": "the current stage",
           "lifecycle_stage": "the funnel stage", "owner_team": "the owning team",
           "lead_score": "the total score", "recycle_on": "the recycle date",
           "recycle_count": "the recycle count",
           "disqualification_reason": "the disqualification reason",
           "disqualified_at": "when the lead was disqualified"}
    if disq is not None:
        out[disq.field] = "the disqualification reason"
    if any(m.grades for m in models.values()):
        out["fit_grade"] = "the fit grade"
    out.update({f"{m}_score": f"the {m} score" for m in models})
    out.update({f"{s.id}_entered_at": f"when a lead entered {s.id}" for s in stages})
    for h in handoffs:
        out[f"{h.to_stage}_accept_due_at"] = f"when {h.to_stage} acceptance is due"
        out[f"{h.to_stage}_accepted"] = f"whether {h.to_stage} was accepted"
        out[f"{h.to_stage}_accepted_at"] = f"when {h.to_stage} was accepted"
        out[f"{h.to_stage}_first_touch_at"] = f"the first touch after the {h.to_stage} handoff"
        out[f"{h.to_stage}_attempts"] = f"contact attempts after the {h.to_stage} handoff"
    for s in stages:  # an entry reading `accepted` needs the checkbox even without a handoff
        if s.entry is not None and any(isinstance(n, Ref) and n.name == "accepted"
                                       and n.kind == "builtin" for n in walk(s.entry.expr)):
            out[f"{s.id}_accepted"] = f"whether {s.id} was accepted"
    return out
