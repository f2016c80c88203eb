"""A project's page (details, stage history, activities, follow-ups, capital arrivals, the
撞单 conflict), its edit form, and the new-project form."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter
from fastapi.responses import Response
from sqlmodel import Session

from crm.accounts.service import user_choices
from crm.activities.reads import ActivityFilters, list_activity_rows
from crm.authz import can_edit_owned, owner_choices
from crm.errors import CRMError, NotFound, StaleVersion, ValidationFailed
from crm.firms.service import get_firm, search_firms
from crm.followups.service import FollowupFilters, list_followups
from crm.models.accounts import User
from crm.models.projects import Project, Stage
from crm.policy.service import plan_lists
from crm.projects.reads import (
    get_project_and_firm_name,
    get_project_for,
    history_and_arrivals,
    to_public,
)
from crm.projects.schemas import CapitalArrivalCreate, ProjectCreate, ProjectUpdate
from crm.projects.service import add_capital_arrival, conflict_info, create_project, update_project
from crm.submissions import AlreadySubmitted, settle
from web import forms
from web.forms import FormBody
from web.visit import PageVisit, Visit

router = APIRouter()
STAGES = [s.value for s in Stage]
DATE_FIELDS = [
    "expected_sign_date",
    "expected_land_date",
    "expected_operate_date",
    "actual_sign_date",
    "actual_land_date",
    "actual_operate_date",
]
NUMBERS = ["planned_investment", "expected_output", "expected_jobs", "actual_jobs"]
ALIASES = {f: f for f in DATE_FIELDS}  # model-level date errors name their field first


def _refs(
    session: Session, user: User, owner_id: int | None = None, *, owners: bool = True
) -> dict[str, Any]:
    """The form's lists; ``owner_id`` is the project's current owner (None: a new project):
    the owner picker offers whom crm.authz allows (``owner_choices``), as the service checks.
    ``owners`` False: no picker (the project page names people, it offers none — filtering
    500 people through the rule was a twelfth of its work)."""
    users = user_choices(session, user)
    plan = plan_lists(session)
    return {
        "owners": owner_choices(user, users.officers, owner_id) if owners else [],
        "clusters": plan.clusters,
        "parks": plan.parks,
        "links": plan.links,
        "user_names": users.names,
        "officers": users.officers,
        "dept_names": plan.names["department"],
        "plan_names": plan.names,
    }


def project_context(
    session: Session, user: User, p: Project, firm_names: dict[int, str] | None = None
) -> dict[str, Any]:
    refs = _refs(session, user, owners=False)
    pub = to_public(session, p, user, firm_names)
    # rows of the columns the page shows, not entities (building 30 ORM objects was a quarter
    # of the page's work)
    acts, act_total = list_activity_rows(session, user, ActivityFilters(project_id=p.id), limit=30)
    fus, _ = list_followups(
        session, user, FollowupFilters(project_id=p.id, status=None, everyone=True), limit=50
    )
    history, arrivals = history_and_arrivals(session, user, p.id)
    total = (
        sum((a.amount for a in arrivals), start=type(arrivals[0].amount)(0)) if arrivals else None
    )
    return {
        "nav": "pipeline",
        "p": pub,
        "history": history,
        "activities": acts,
        "activity_total": act_total,
        "followups": fus,
        "arrivals": arrivals,
        "arrived_total": total,
        "conflict": conflict_info(session, user, p),
        "can_edit": can_edit_owned(user, p.owner_id, p.department_id),
        "stages": STAGES,
        "errors": {},
        "stage_errors": {},
        "stage_values": {},
        "capital_values": {},
        **refs,
        "cluster_names": refs["plan_names"]["cluster"],
        "park_names": refs["plan_names"]["park"],
        "link_names": refs["plan_names"]["link"].get(p.cluster_id, {}),
    }


def project_page_response(
    visit: PageVisit, p: Project, status_code: int = 200, **extra: Any
) -> Response:
    visit.session.refresh(p)
    return visit.render(
        "projects/detail.html",
        {**project_context(visit.session, visit.user, p), **extra},
        status_code=status_code,
    )


def section_refused(
    visit: PageVisit,
    p: Project,
    section: str,
    errors: dict[str, str],
    values: dict[str, Any],
    status_code: int = 422,
) -> forms.FormRejected:
    """The project page again with one section's form (``stage``, ``capital``) refused: the
    errors beside its fields and the values as they were typed."""
    return forms.FormRejected(
        project_page_response(
            visit,
            p,
            status_code,
            **{f"{section}_errors": errors, f"{section}_values": values},
        )
    )


def _form_page(
    visit: PageVisit,
    values: dict[str, Any],
    errors: dict[str, str] | None = None,
    *,
    project: Any = None,
    owner_id: int | None = None,
    firm: Any = None,
    found: Any = (),
    q: str = "",
    stale: bool = False,
    status_code: int = 200,
    block: str | None = None,
) -> Response:
    """The project form: a new project (``firm``, the firm picker's ``q`` and ``found``) or
    ``project`` to edit (``owner_id``, its owner); ``values`` as shown, ``errors`` beside them."""
    return visit.render(
        "projects/form.html",
        {
            "nav": "pipeline",
            "project": project,
            "values": values,
            "errors": errors or {},
            "stale": stale,
            "firm": firm,
            "found": list(found),
            "q": q,
            **_refs(visit.session, visit.user, owner_id),
        },
        status_code=status_code,
        block=block,
    )


@router.get("/projects/new", include_in_schema=False)
def new_project_page(
    visit: Visit,
    firm_id: str | None = None,
    q: str | None = None,
) -> Response:
    firm = None
    if (wanted := forms.query_int(firm_id)) is not None:
        try:
            firm = get_firm(visit.session, visit.user, wanted)
        except NotFound:
            firm = None
    found = search_firms(visit.session, visit.user, q[:100], limit=20) if q and not firm else []
    return _form_page(
        visit,
        {"stage": "lead"},
        firm=firm,
        found=found,
        q=q or "",
        block="firm_results" if q else None,
    )


# the form's strings that are integers in the schemas (each form sends the ones it has)
INTS = ("firm_id", "owner_id", "expected_jobs", "actual_jobs", "version")
CREATE_FIELDS = [
    "title",
    "firm_id",
    "cluster",
    "park",
    "chain_link",
    "stage",
    *NUMBERS,
    *DATE_FIELDS,
    "code_name",
    "notes",
    "owner_id",
]


@router.post("/projects/new", include_in_schema=False)
def create_project_form(form: FormBody, visit: Visit) -> Response:
    values = forms.clean(form, CREATE_FIELDS)
    values["is_confidential"] = form.get("is_confidential") == "1"
    firm = None
    if (wanted := forms.query_int(values.get("firm_id"))) is not None:
        try:
            firm = get_firm(visit.session, visit.user, wanted)
        except NotFound:
            firm = None
    key = forms.submission_key(form)  # the same form again records nothing (crm.submissions)
    try:
        data = forms.parse(visit.request, ProjectCreate, values, ints=INTS, aliases=ALIASES)
        visit.claim(key, data)
        p = create_project(visit.session, visit.user, data)
        outcome = f"/projects/{p.id}?created=1"
        settle(visit.session, visit.user, key, outcome)
    except AlreadySubmitted as exc:
        return forms.answered_before(visit.request, exc)
    except (forms.FormInvalid, ValidationFailed) as exc:
        errors = forms.errors_of(visit.request, exc)
        shown = {**values, "submission_key": forms.key_to_show(key, exc)}
        raise forms.FormRejected(
            _form_page(visit, shown, errors, firm=firm, status_code=422)
        ) from exc
    return forms.done(visit.request, outcome)


@router.get("/projects/{project_id:id}", include_in_schema=False)
def project_page(visit: Visit, project_id: int) -> Response:
    p, firm_names = get_project_and_firm_name(visit.session, visit.user, project_id)
    created = visit.request.query_params.get("created") == "1"
    return visit.render(
        "projects/detail.html",
        {**project_context(visit.session, visit.user, p, firm_names), "created": created},
    )


# the edit form's fields (its confidential box is read apart: a checkbox)
EDIT_FIELDS = [
    "title",
    "park",
    "chain_link",
    *NUMBERS,
    *DATE_FIELDS,
    "code_name",
    "notes",
    "owner_id",
    "version",
]


def _edit_values(p: Any) -> dict[str, Any]:
    """The project as the edit form shows it (blank for None)."""
    return {
        k: ("" if (v := getattr(p, k)) is None else v) for k in (*EDIT_FIELDS, "is_confidential")
    }


@router.get("/projects/{project_id:id}/edit", include_in_schema=False)
def edit_project_page(visit: Visit, project_id: int) -> Response:
    p = get_project_for(visit.session, visit.user, project_id)
    pub = to_public(visit.session, p, visit.user)
    return _form_page(visit, _edit_values(pub), project=pub, owner_id=p.owner_id)


@router.post("/projects/{project_id:id}/edit", include_in_schema=False)
def edit_project_form(form: FormBody, visit: Visit, project_id: int) -> Response:
    p = get_project_for(visit.session, visit.user, project_id)
    values = forms.clean(form, EDIT_FIELDS)
    values["is_confidential"] = form.get("is_confidential") == "1"
    # a cleared field is a change too: send every editable field, empty ones as None
    data_in: dict[str, Any] = {k: values.get(k) for k in EDIT_FIELDS if k != "owner_id"}
    if values.get("owner_id"):
        data_in["owner_id"] = values["owner_id"]
    data_in["is_confidential"] = values["is_confidential"]
    if "title" in form and not values.get("title"):
        data_in["title"] = ""  # cleared: refused beside the field as required
    elif not values.get("title"):
        data_in.pop("title")
    try:
        data = forms.parse(visit.request, ProjectUpdate, data_in, ints=INTS, aliases=ALIASES)
        update_project(visit.session, visit.user, project_id, data)
    except (forms.FormInvalid, CRMError) as exc:
        errors, status = forms.edit_refusal(visit.request, exc)
        raise forms.FormRejected(
            _form_page(
                visit,
                values,
                errors,
                project=to_public(visit.session, p, visit.user),
                owner_id=p.owner_id,
                stale=isinstance(exc, StaleVersion),
                status_code=status,
            )
        ) from exc
    return forms.done(visit.request, f"/projects/{project_id}")


@router.post("/projects/{project_id:id}/capital", include_in_schema=False)
def add_capital(form: FormBody, visit: Visit, project_id: int) -> Response:
    p = get_project_for(visit.session, visit.user, project_id)
    values = forms.clean(form, ["amount", "arrived_on", "note"])
    key = forms.submission_key(form)  # the same form again records nothing (crm.submissions)
    outcome = f"/projects/{project_id}#capital"
    try:
        data = forms.parse(visit.request, CapitalArrivalCreate, values)
        visit.claim(key, data, outcome)
        add_capital_arrival(visit.session, visit.user, project_id, data)
    except AlreadySubmitted as exc:
        return forms.answered_before(visit.request, exc)
    except (forms.FormInvalid, ValidationFailed) as exc:
        errors = forms.errors_of(visit.request, exc)
        shown = {**values, "submission_key": forms.key_to_show(key, exc)}
        raise section_refused(visit, p, "capital", errors, shown) from exc
    except CRMError as exc:
        if exc.status != 409:
            raise
        shown = {**values, "submission_key": key}
        raise section_refused(visit, p, "capital", {"amount": exc.message}, shown, 409) from exc
    return forms.done(visit.request, outcome)
