"""What the benchmark measures, as data: each scenario names a URL template, who asks, how its
ids are picked, which budget applies and the raw-SQL floor (the same rows the page needs, read
straight through the DBAPI).

SQL here is written once for SQLite and PostgreSQL: named parameters ``:name`` (rewritten to
``%(name)s`` for psycopg), booleans tested bare (``NOT p.is_confidential``), no casts.
``{hidden}`` in a floor is replaced by the officer's visibility rule (SPEC §8).
"""

from __future__ import annotations

from dataclasses import dataclass, field

# budgets (ms, p95) by class; SPEC §9
BUDGETS_MS = {"list": 50.0, "search": 50.0, "detail": 50.0, "report": 150.0}
FLOOR_RATIO_MAX = 3.0  # no page more than 3x its floor ...
FLOOR_RATIO_MIN_MS = 5.0  # ... where the floor is above 5 ms
REMINDERS_BUDGET_S = 10.0
IMPORT_BUDGET_S = 30.0


@dataclass(frozen=True)
class Scenario:
    name: str
    url: str  # template: {firm_id}, {project_id}, {q} …
    role: str = "officer"  # officer | manager (web pages: session cookie; api: bearer token)
    budget: str | None = "list"  # a key of BUDGETS_MS, or None
    pick: str | None = None  # a key of PICKS: each request takes the next row of parameters
    params: dict[str, str] = field(default_factory=dict)  # fixed parameters (e.g. q)
    floor: tuple[str, ...] = ()  # keys of FLOORS, run in order (one floor = all of them)
    expect: str | None = None  # text the answer must contain (a check that the page is right)

    @property
    def api(self) -> bool:
        return self.url.startswith("/api/")


# --- visibility: an officer sees non-confidential projects and their own department's ---------

OFFICER_PROJECT_VISIBLE = "(NOT p.is_confidential OR p.department_id = :dept_id)"

# --- how ids are picked: rows of parameters, cycled through the requests --------------------------
# busy records first (the worst pages), then a spread of ordinary ones

PICKS: dict[str, str] = {
    "firm": """
        SELECT id AS firm_id FROM (
          SELECT af.firm_id AS id, count(*) AS n FROM activity_firm af
          GROUP BY af.firm_id ORDER BY n DESC, af.firm_id LIMIT 10) busy
        UNION ALL
        SELECT id AS firm_id FROM (
          SELECT id FROM firm WHERE id % 997 = 1 ORDER BY id LIMIT 40) spread
    """,
    "project": f"""
        SELECT id AS project_id FROM (
          SELECT ap.project_id AS id, count(*) AS n FROM activity_project ap
          JOIN project p ON p.id = ap.project_id
          WHERE {OFFICER_PROJECT_VISIBLE}
          GROUP BY ap.project_id ORDER BY n DESC, ap.project_id LIMIT 10) busy
        UNION ALL
        SELECT id AS project_id FROM (
          SELECT p.id FROM project p WHERE {OFFICER_PROJECT_VISIBLE} AND p.id % 397 = 1
          ORDER BY p.id LIMIT 40) spread
    """,
}

# --- the raw-SQL floors ---------------------------------------------------------------------------

# a stage as its rank in the pipeline (lost: -1)
_RANK_SC = (
    "CASE sc.to_stage WHEN 'lead' THEN 0 WHEN 'contacted' THEN 1 WHEN 'negotiating' "
    "THEN 2 WHEN 'signed' THEN 3 WHEN 'landed' THEN 4 WHEN 'operating' THEN 5 ELSE -1 END"
)
_RANK_P = _RANK_SC.replace("sc.to_stage", "p.stage")
_STAGES = ("lead", "contacted", "negotiating", "signed", "landed", "operating", "lost")

_FIRM_COLS = "f.id, f.name_zh, f.name_en, f.tier, f.country, f.owner_id, f.updated_at"

FLOORS: dict[str, str] = {
    # firm list: one page (major tiers first, each tier group read in order from an index),
    # its clusters and a count capped at 10,001
    "firm_page_rows": f"""SELECT {_FIRM_COLS} FROM firm f WHERE f.tier <> 'other'
        ORDER BY f.updated_at DESC, f.id DESC LIMIT 50""",
    "firm_page_rows_other": f"""SELECT {_FIRM_COLS} FROM firm f WHERE f.tier = 'other'
        ORDER BY f.updated_at DESC, f.id DESC LIMIT 50""",
    "firm_count_capped": "SELECT count(*) FROM (SELECT id FROM firm LIMIT 10001) t",
    "firm_page_clusters": """
        SELECT fc.firm_id, c.code FROM firm_cluster fc JOIN cluster c ON c.id = fc.cluster_id
        WHERE fc.firm_id IN (SELECT f.id FROM firm f WHERE f.tier <> 'other'
          ORDER BY f.updated_at DESC, f.id DESC LIMIT 50)""",
    # search: the best index the database has for the query (see bench.harness.search_floor)
    "firm_search": "@search",
    # the header search's contacts and projects, as the service reads them (bench.floor)
    "header_contacts": "@header_contacts",
    "header_projects": "@header_projects",
    # the whole firm list by name: one page along the pinyin index, and every firm counted
    "firm_name_rows": f"""SELECT {_FIRM_COLS} FROM firm f ORDER BY f.name_pinyin, f.id LIMIT 50""",
    "firm_count": "SELECT count(*) FROM firm",
    "firm_name_clusters": """
        SELECT fc.firm_id, c.code FROM firm_cluster fc JOIN cluster c ON c.id = fc.cluster_id
        WHERE fc.firm_id IN (SELECT f.id FROM firm f ORDER BY f.name_pinyin, f.id LIMIT 50)""",
    # a firm page: the firm, aliases, clusters, contacts, projects, timeline, open follow-ups
    "firm_one": "SELECT * FROM firm WHERE id = :firm_id",
    "firm_aliases": "SELECT alias FROM firm_alias WHERE firm_id = :firm_id ORDER BY id",
    "firm_clusters": """SELECT c.code, c.name_zh FROM firm_cluster fc
        JOIN cluster c ON c.id = fc.cluster_id WHERE fc.firm_id = :firm_id""",
    "firm_contacts": "SELECT * FROM contact WHERE firm_id = :firm_id ORDER BY name LIMIT 100",
    "firm_projects": f"""SELECT p.id, p.title, p.stage, p.cluster_id, p.owner_id,
        p.planned_investment, p.updated_at FROM project p
        WHERE p.firm_id = :firm_id AND {OFFICER_PROJECT_VISIBLE} ORDER BY p.updated_at DESC""",
    "firm_timeline": f"""SELECT a.id, a.kind, a.occurred_at, a.summary, a.outcome,
        a.created_by_id FROM activity_firm af JOIN activity a ON a.id = af.activity_id
        WHERE af.firm_id = :firm_id AND NOT EXISTS (
          SELECT 1 FROM activity_project ap JOIN project p ON p.id = ap.project_id
          WHERE ap.activity_id = a.id AND NOT {OFFICER_PROJECT_VISIBLE})
        ORDER BY a.occurred_at DESC LIMIT 20""",
    "firm_followups": """SELECT id, title, due_at, assignee_id FROM followup
        WHERE firm_id = :firm_id AND status = 'open' ORDER BY due_at LIMIT 20""",
    # My day: my open follow-ups due today or overdue, my recent projects
    "myday_followups": """SELECT fu.id, fu.title, fu.due_at, fu.firm_id, fu.project_id
        FROM followup fu WHERE fu.assignee_id = :user_id AND fu.status = 'open'
        AND fu.due_at < :day_end ORDER BY fu.due_at LIMIT 500""",
    "myday_projects": """SELECT p.id, p.title, p.stage, p.updated_at FROM project p
        WHERE p.owner_id = :user_id ORDER BY p.updated_at DESC LIMIT 10""",
    # follow-up list: mine, open, a page and a capped count
    "followup_rows": """SELECT id, title, due_at, firm_id, project_id FROM followup
        WHERE assignee_id = :user_id AND status = 'open' ORDER BY due_at, id LIMIT 50""",
    "followup_count": """SELECT count(*) FROM (SELECT id FROM followup
        WHERE assignee_id = :user_id AND status = 'open' LIMIT 10001) t""",
    # pipeline board: per stage its 12 most recently updated cards and its count capped at 1,000
    # (the board shows "999+"; web/pipeline CARDS and COUNT_CAP), as the page reads them
    "board_cards": " UNION ALL ".join(
        f"""SELECT * FROM (SELECT p.id, p.title, p.stage, p.firm_id, p.cluster_id, p.park_id,
            p.owner_id, p.planned_investment, p.updated_at FROM project p
          WHERE {OFFICER_PROJECT_VISIBLE} AND p.stage = '{s}'
          ORDER BY p.updated_at DESC, p.id DESC LIMIT 12) c_{s}"""
        for s in _STAGES
    ),
    "board_counts": "SELECT "
    + ", ".join(
        f"""(SELECT count(*) FROM (SELECT p.id FROM project p
          WHERE {OFFICER_PROJECT_VISIBLE} AND p.stage = '{s}' LIMIT 1000) n_{s})"""
        for s in _STAGES
    ),
    # pipeline table: one page and a capped count
    "project_rows": f"""SELECT p.id, p.title, p.stage, p.firm_id, f.name_zh, p.cluster_id,
        p.park_id, p.owner_id, p.planned_investment, p.updated_at
        FROM project p JOIN firm f ON f.id = p.firm_id
        WHERE {OFFICER_PROJECT_VISIBLE} ORDER BY p.updated_at DESC, p.id DESC LIMIT 50""",
    "project_count": f"""SELECT count(*) FROM (SELECT p.id FROM project p
        WHERE {OFFICER_PROJECT_VISIBLE} LIMIT 10001) t""",
    # a project page: the project, its stage history, activities, follow-ups, capital arrivals
    "project_one": """SELECT p.*, f.name_zh FROM project p JOIN firm f ON f.id = p.firm_id
        WHERE p.id = :project_id""",
    "project_stages": """SELECT * FROM stage_change WHERE project_id = :project_id
        ORDER BY changed_at""",
    "project_timeline": """SELECT a.id, a.kind, a.occurred_at, a.summary FROM activity_project ap
        JOIN activity a ON a.id = ap.activity_id WHERE ap.project_id = :project_id
        ORDER BY a.occurred_at DESC LIMIT 20""",
    "project_followups": """SELECT id, title, due_at, status FROM followup
        WHERE project_id = :project_id ORDER BY due_at LIMIT 20""",
    "project_capital": "SELECT * FROM capital_arrival WHERE project_id = :project_id",
    # activity list (API): newest first, the officer's visibility, capped count
    "activity_rows": f"""SELECT a.id, a.kind, a.occurred_at, a.summary FROM activity a
        WHERE NOT EXISTS (SELECT 1 FROM activity_project ap JOIN project p ON p.id = ap.project_id
          WHERE ap.activity_id = a.id AND NOT {OFFICER_PROJECT_VISIBLE})
        ORDER BY a.occurred_at DESC, a.id DESC LIMIT 50""",
    "activity_count": "SELECT count(*) FROM (SELECT id FROM activity LIMIT 10001) t",
    # small reference lists
    "clusters": "SELECT * FROM cluster ORDER BY sort_order",
    "parks": "SELECT * FROM park ORDER BY sort_order",
    "users": "SELECT id, username, display_name, role, department_id FROM user_account "
    "ORDER BY id LIMIT 50",
    "departments": "SELECT * FROM department ORDER BY id",
    # reports (a manager: every project). Coverage (as built when nothing is kept: the report
    # is then kept until its data changes, crm.reports.kept): one pass over the major
    # investors' live projects in the order they are listed (statuses, investors, links'
    # investors, the projects behind each status, the matrix's pairs), the labels of the
    # projects listed, firms and projects per chain link, the cluster × park counts
    "report_coverage": f"""SELECT p.id, p.cluster_id, p.chain_link_id, p.park_id, f.id,
        {_RANK_P}, coalesce(p.expected_output, 0),
        CASE WHEN p.is_confidential THEN coalesce(p.code_name, '保密项目') END, f.name_zh, f.tier
        FROM project p JOIN firm f ON f.id = p.firm_id
        WHERE p.stage <> 'lost' AND f.tier IN ('global500','china500','leader')
        ORDER BY f.tier, f.name_zh, f.id""",
    "report_coverage_labels": """SELECT p.id, p.title, p.is_confidential, p.code_name,
        p.expected_output FROM project p WHERE p.id IN (SELECT id FROM project
        WHERE stage <> 'lost' ORDER BY id LIMIT 240)""",
    "report_coverage_links": """SELECT p.chain_link_id, count(DISTINCT p.firm_id), count(*)
        FROM project p WHERE p.stage <> 'lost' AND p.chain_link_id IS NOT NULL
        GROUP BY p.chain_link_id""",
    "report_coverage_parks": """SELECT p.cluster_id, p.park_id,
        sum(CASE WHEN p.stage IN ('landed','operating') THEN 1 ELSE 0 END),
        sum(CASE WHEN p.stage IN ('negotiating','signed','landed','operating') THEN 1 ELSE 0 END),
        count(*) FROM project p WHERE p.stage <> 'lost' AND p.park_id IS NOT NULL
        GROUP BY p.cluster_id, p.park_id""",
    # pipeline: by stage and cluster; conversion from the furthest stage each project reached
    # (kept with the project; a project without one from its history); new projects and first
    # signings per week (two buckets stand for the weeks)
    "report_pipeline": """SELECT p.cluster_id, p.stage, count(*), sum(p.planned_investment),
        sum(p.expected_output) FROM project p GROUP BY p.cluster_id, p.stage""",
    "report_pipeline_conversion": """SELECT p.furthest_stage, p.stage, count(*) FROM project p
        WHERE p.furthest_stage IS NOT NULL GROUP BY p.furthest_stage, p.stage""",
    "report_pipeline_unkept": f"""SELECT r, count(*) FROM (
        SELECT CASE WHEN coalesce(max({_RANK_SC}), -1) > {_RANK_P} THEN max({_RANK_SC})
               ELSE {_RANK_P} END AS r
        FROM project p LEFT JOIN stage_change sc ON sc.project_id = p.id
        WHERE p.furthest_stage IS NULL GROUP BY p.id, p.stage) t GROUP BY r""",
    "report_pipeline_weeks": """SELECT p.created_at >= :weeks_mid, count(*) FROM project p
        WHERE p.created_at >= :weeks_start GROUP BY p.created_at >= :weeks_mid""",
    "report_pipeline_signings": """SELECT t.at >= :weeks_mid, count(*) FROM (
        SELECT sc.project_id, min(sc.changed_at) AS at FROM stage_change sc
        JOIN project p ON p.id = sc.project_id
        WHERE sc.to_stage IN ('signed','landed','operating') AND sc.project_id IN (
          SELECT c.project_id FROM stage_change c WHERE c.changed_at >= :weeks_start
          AND c.to_stage IN ('signed','landed','operating'))
        GROUP BY sc.project_id) t
        WHERE t.at >= :weeks_start GROUP BY t.at >= :weeks_mid""",
    # targets: expected output per cluster at landed/operating and at signed; cores' share
    "report_targets": """SELECT p.cluster_id, p.stage, p.park_id, sum(p.expected_output),
        count(*) FROM project p WHERE p.stage IN ('signed','landed','operating')
        GROUP BY p.cluster_id, p.stage, p.park_id""",
    # leaders: output per firm, the parent links (rolled up to the top-level group in Python)
    # and the names of the firms listed
    "report_leaders": """SELECT p.firm_id, sum(p.expected_output), count(*) FROM project p
        WHERE p.stage IN ('signed','landed','operating') GROUP BY p.firm_id""",
    "report_leaders_parents": "SELECT f.id, f.parent_id FROM firm f WHERE f.parent_id IS NOT NULL",
    "report_leaders_names": """SELECT f.id, f.name_zh, f.tier FROM firm f WHERE f.id IN (
        SELECT p.firm_id FROM project p WHERE p.stage IN ('signed','landed','operating')
        GROUP BY p.firm_id ORDER BY sum(p.expected_output) DESC LIMIT 150)""",
    # officer activity: contacts logged and follow-ups done per officer per week from the
    # summaries kept with the activities and follow-ups; follow-ups overdue per officer per week
    # (two buckets stand for the weeks); the new leads of the period
    "report_activity": """SELECT s.user_id, s.week_start, s.contacts FROM activity_officer_week s
        WHERE s.week_start >= :weeks_start AND s.contacts > 0""",
    "report_activity_followups": """SELECT s.user_id, s.week_start, s.done
        FROM followup_officer_week s WHERE s.week_start >= :weeks_start AND s.done > 0""",
    "report_activity_overdue": """SELECT assignee_id, due_at >= :weeks_mid, count(*)
        FROM followup WHERE status = 'open' AND due_at >= :weeks_start AND due_at < :now
        GROUP BY assignee_id, due_at >= :weeks_mid""",
    "report_activity_leads": """SELECT p.owner_id, p.created_at, p.first_contact_at
        FROM project p WHERE p.created_at >= :weeks_start AND p.owner_id IS NOT NULL
        AND NOT EXISTS (SELECT 1 FROM stage_change sc WHERE sc.project_id = p.id
          AND sc.from_stage IS NULL AND sc.to_stage <> 'lead')""",
    # delivery: per cluster, the signed projects' investment, capital arrived, jobs and lateness;
    # the first 100 late ones
    "report_delivery": """SELECT p.cluster_id, count(*), sum(p.planned_investment), sum(a.amt),
        sum(coalesce(p.expected_jobs, 0)), sum(coalesce(p.actual_jobs, 0)),
        sum(CASE WHEN p.expected_land_date < :day_start AND (p.actual_land_date IS NULL
                 OR p.actual_land_date > p.expected_land_date) THEN 1 ELSE 0 END),
        sum(CASE WHEN p.expected_operate_date < :day_start AND (p.actual_operate_date IS NULL
                 OR p.actual_operate_date > p.expected_operate_date) THEN 1 ELSE 0 END)
        FROM project p LEFT JOIN (SELECT ca.project_id, sum(ca.amount) AS amt
          FROM capital_arrival ca GROUP BY ca.project_id) a ON a.project_id = p.id
        WHERE p.stage IN ('signed','landed','operating') GROUP BY p.cluster_id""",
    "report_delivery_late": """SELECT p.id, p.title, p.is_confidential, p.code_name, f.name_zh,
        p.cluster_id, p.stage, p.expected_land_date, p.actual_land_date,
        p.expected_operate_date, p.actual_operate_date
        FROM project p JOIN firm f ON f.id = p.firm_id
        WHERE p.stage IN ('signed','landed','operating') AND (
          (p.expected_land_date < :day_start AND (p.actual_land_date IS NULL
           OR p.actual_land_date > p.expected_land_date))
          OR (p.expected_operate_date < :day_start AND (p.actual_operate_date IS NULL
           OR p.actual_operate_date > p.expected_operate_date)))
        ORDER BY coalesce(p.expected_land_date, p.expected_operate_date), p.id LIMIT 100""",
    # the day's reminders: every active officer's open follow-ups due by tonight
    "reminders": """SELECT fu.assignee_id, fu.id, fu.title, fu.due_at, p.title, f.name_zh
        FROM followup fu JOIN user_account u ON u.id = fu.assignee_id
        LEFT JOIN project p ON p.id = fu.project_id LEFT JOIN firm f ON f.id = fu.firm_id
        WHERE fu.status = 'open' AND fu.due_at < :day_end AND u.is_active
        ORDER BY fu.assignee_id, fu.due_at""",
}

FIRM_LIST_FLOOR = (
    "firm_page_rows",
    "firm_page_rows_other",
    "firm_count_capped",
    "firm_page_clusters",
)
FIRM_FLOOR = (
    "firm_one",
    "firm_aliases",
    "firm_clusters",
    "firm_contacts",
    "firm_projects",
    "firm_timeline",
    "firm_followups",
)
PROJECT_FLOOR = (
    "project_one",
    "project_stages",
    "project_timeline",
    "project_followups",
    "project_capital",
)
MYDAY_FLOOR = ("myday_followups", "myday_projects")
BOARD_FLOOR = ("board_cards", "board_counts")
PROJECT_LIST_FLOOR = ("project_rows", "project_count")
REPORT_FLOORS = {
    "coverage": (
        "report_coverage",
        "report_coverage_labels",
        "report_coverage_links",
        "report_coverage_parks",
    ),
    "pipeline": (
        "report_pipeline",
        "report_pipeline_conversion",
        "report_pipeline_unkept",
        "report_pipeline_weeks",
        "report_pipeline_signings",
    ),
    "targets": ("report_targets",),
    "leaders": ("report_leaders", "report_leaders_parents", "report_leaders_names"),
    "activity": (
        "report_activity",
        "report_activity_followups",
        "report_activity_overdue",
        "report_activity_leads",
    ),
    "delivery": ("report_delivery", "report_delivery_late"),
}

# the firm search queries: Chinese (one and two characters, a longer name), English, pinyin,
# initials
SEARCHES = [
    ("zh1", "惠", "惠普"),  # one character: the first an officer types
    ("zh2", "惠普", "惠普"),
    ("zh3", "长安汽车", "长安汽车"),
    ("en", "HP", None),
    ("pinyin", "huipu", "惠普"),
    ("initials", "hp", None),
]

HEADER_SEARCHES = [
    ("zh2", "惠普", "惠普"),
    ("en1", "h", None),
]
HEADER_FLOOR = ("firm_search", "header_contacts", "header_projects")


def _scenarios() -> list[Scenario]:
    s: list[Scenario] = [
        Scenario("web firm list", "/firms", floor=FIRM_LIST_FLOOR),
    ]
    for key, q, expect in SEARCHES:
        s.append(
            Scenario(
                f"web firm search {key} '{q}'",
                "/firms?q={q}",
                budget="search",
                params={"q": q},
                floor=("firm_search",),
                expect=expect,
            )
        )
    s.append(
        Scenario(
            "web firm list by name",
            "/firms?sort=name",
            floor=("firm_name_rows", "firm_count", "firm_name_clusters"),
        )
    )
    # the header search (firms, contacts, projects): two characters, and the first one typed
    for key, q, expect in HEADER_SEARCHES:
        s.append(
            Scenario(
                f"web header search {key} '{q}'",
                "/search?q={q}",
                budget="search",
                params={"q": q},
                floor=HEADER_FLOOR,
                expect=expect,
            )
        )
    s += [
        Scenario(
            "web firm page", "/firms/{firm_id}", budget="detail", pick="firm", floor=FIRM_FLOOR
        ),
        Scenario("web my day", "/", budget="list", floor=MYDAY_FLOOR),
        Scenario(
            "web follow-ups", "/followups", budget="list", floor=("followup_rows", "followup_count")
        ),
        Scenario("web pipeline board", "/pipeline", budget="list", floor=BOARD_FLOOR),
        Scenario(
            "web pipeline table", "/pipeline?view=table", budget="list", floor=PROJECT_LIST_FLOOR
        ),
        Scenario(
            "web project page",
            "/projects/{project_id}",
            budget="detail",
            pick="project",
            floor=PROJECT_FLOOR,
        ),
    ]
    for rep, floor in REPORT_FLOORS.items():
        s.append(
            Scenario(
                f"web report {rep}", f"/reports/{rep}", role="manager", budget="report", floor=floor
            )
        )
    s += [
        # the leadership's pages (#17): the weekly briefing, the city map, a manager's home
        Scenario("web report briefing", "/reports/briefing", role="manager", budget="report"),
        Scenario("web report city map", "/reports/map", role="manager", budget="report"),
        Scenario("web report park layout", "/reports/layout", role="manager", budget="report"),
        Scenario("web manager home", "/", role="manager", budget="list", expect="manager-home"),
    ]
    for rep, floor in REPORT_FLOORS.items():
        s.append(
            Scenario(
                f"api report {rep}",
                f"/api/v1/reports/{rep}",
                role="manager",
                budget="report",
                floor=floor,
            )
        )
    s += [
        Scenario("api firms", "/api/v1/firms", floor=FIRM_LIST_FLOOR),
        Scenario(
            "api firm search 'huipu'",
            "/api/v1/firms?q={q}",
            budget="search",
            params={"q": "huipu"},
            floor=("firm_search",),
            expect="惠普",
        ),
        Scenario(
            "api firm",
            "/api/v1/firms/{firm_id}",
            budget="detail",
            pick="firm",
            floor=("firm_one", "firm_aliases", "firm_clusters"),
        ),
        Scenario(
            "api firm contacts",
            "/api/v1/firms/{firm_id}/contacts",
            budget="list",
            pick="firm",
            floor=("firm_contacts",),
        ),
        Scenario("api projects", "/api/v1/projects", floor=PROJECT_LIST_FLOOR),
        Scenario(
            "api project",
            "/api/v1/projects/{project_id}",
            budget="detail",
            pick="project",
            floor=("project_one",),
        ),
        Scenario("api activities", "/api/v1/activities", floor=("activity_rows", "activity_count")),
        Scenario("api follow-ups", "/api/v1/followups", floor=("followup_rows", "followup_count")),
        Scenario("api clusters", "/api/v1/clusters", floor=("clusters",)),
        Scenario("api parks", "/api/v1/parks", floor=("parks",)),
        Scenario("api users", "/api/v1/users", floor=("users",)),
        Scenario("api departments", "/api/v1/departments", floor=("departments",)),
    ]
    return s


SCENARIOS: list[Scenario] = _scenarios()

# throughput: 8 clients for a bounded time on these
THROUGHPUT = ["web firm list", "web my day"]
