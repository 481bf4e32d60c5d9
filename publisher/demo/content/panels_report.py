"""Two demo panel sessions and the demo research report with its top-10 takeaways."""

from __future__ import annotations

from publisher.demo.content.shape import (
    _PHOTOS,
    _SLUGS,
    _VIDEO,
    CITIES_KEY,
    DEMINING_KEY,
    FORUM_KEY,
    NBSP,
    ORGANISATION,
    REPORT_KEY,
    DemoPost,
    _md,
    _media,
    _speaker,
    _utc,
    post_url,
)


def _panel_demining(base_url: str) -> DemoPost:
    forum_url = post_url(base_url, _SLUGS[FORUM_KEY])
    body = _md(
        f"**When:** 8{NBSP}April{NBSP}2026, 15:00–16:30 Kyiv time (UTC+3)  \n"
        "**Where:** Herald Policy Centre, Kyiv • live stream in English and Ukrainian",
        "A field that cannot be ploughed is a village that cannot come home. This panel "
        f"continues the security track of our [Ukraine–Japan Forum]({forum_url}) and asks how "
        "humanitarian demining — «розмінування» — can move from a heroic effort to an "
        "ordinary, well‑financed part of rural recovery.",
        "### On the agenda",
        "- How farmland is surveyed, prioritised and handed back to its owners\n"
        "- Machines, dogs and people: what each does best\n"
        "- Financing demining as infrastructure, not as charity",
    )
    return DemoPost(
        key=DEMINING_KEY,
        kind="event",
        language="en",
        translation_of=None,
        slug=_SLUGS[DEMINING_KEY],
        title="Panel: Clearing the Fields — Demining and the Return of Farmland",
        summary="Surveyors, engineers and farmers on how cleared land goes back to work — and "
        "who should pay for it.",
        body=body,
        takeaways=[],
        speakers=[
            _speaker(
                "Iryna Bondarenko (Ірина Бондаренко)",
                "Head of Agricultural Policy",
                ORGANISATION,
                "Every hectare we clear is a family’s decision to return — or not. We have to "
                "measure demining not in square kilometres but in harvests, schools reopened "
                "and buses running again.",
            ),
            _speaker(
                "Hiroshi Nakamura (中村 博)",
                "Mine Action Adviser",
                "Asia–Europe Mine Action Forum",
                "The hardest part is not the technology. It is the patient, careful work of "
                "deciding which field comes first — and explaining that decision to the people "
                "who live next to the others.",
            ),
        ],
        media=[_media("Live stream", f"{_VIDEO}/panel-demining-2026/live", "en")],
        topics=["Events"],
        author=ORGANISATION,
        location="Herald Policy Centre, Kyiv",
        starts_at=_utc(2026, 4, 8, 12),
        timezone="Europe/Kyiv",
        published_at=_utc(2026, 3, 25, 8),
        image_url=f"{_PHOTOS}/panel-demining-2026/cover.jpg",
        image_alt="A deminer in protective gear kneels at the edge of a wheat field marked with "
        "red warning signs",
    )


def _panel_cities(base_url: str) -> DemoPost:
    report_url = post_url(base_url, _SLUGS[REPORT_KEY])
    body = _md(
        f"**When:** 22{NBSP}April{NBSP}2026, 18:00–19:30 Tokyo time (JST) — "
        f"12:00 in Kyiv  \n"
        "**Where:** Tokyo and online",
        "Kobe rebuilt after 1995; Kharkiv is rebuilding now, under fire. In this Tokyo "
        "session, planners from both cities compare notes on what “building back better” "
        "means for a neighbourhood: where the school goes, who decides, and how long a "
        f"city can ask its residents to wait. Background reading: [our report]({report_url}).",
        "### Questions for the panel",
        "1. Who sits at the table before the first design is drawn?\n"
        "2. Which temporary solutions quietly become permanent?\n"
        "3. What does a city owe the people who left — and may come back?",
    )
    return DemoPost(
        key=CITIES_KEY,
        kind="event",
        language="en",
        translation_of=None,
        slug=_SLUGS[CITIES_KEY],
        title="Panel: Cities That Heal — What Kobe Can Tell Kharkiv",
        summary="Planners from Kobe and Kharkiv on rebuilding neighbourhoods with the people who "
        "live in them.",
        body=body,
        takeaways=[],
        speakers=[
            _speaker(
                "Yuki Tanaka (田中 由紀)",
                "Urban planner",
                "Kobe Neighbourhood Planning Studio",
                "In Kobe the streets that recovered best were not the ones rebuilt fastest. "
                "They were the ones where neighbours had already been meeting — about festivals, "
                "about rubbish collection, about nothing much — before the earthquake came.",
            ),
            _speaker(
                "Andrii Shevchuk (Андрій Шевчук)",
                "Architect",
                "Slobozhanshchyna Urban Lab",
                "We do not have the luxury of waiting for a master plan. So we design in "
                "phases — a school with a shelter this year, a square around it next year — and "
                "we ask residents at every step, even when the answer is inconvenient.",
            ),
        ],
        media=[_media("Live stream", f"{_VIDEO}/panel-cities-2026/live", "en")],
        topics=["Events"],
        author=ORGANISATION,
        location="Tokyo • online",
        starts_at=_utc(2026, 4, 22, 9),
        timezone="Asia/Tokyo",
        published_at=_utc(2026, 4, 1, 6),
        image_url=f"{_PHOTOS}/panel-cities-2026/cover.jpg",
        image_alt="A rebuilt residential street in Kobe with low houses, bicycles and a small "
        "neighbourhood park",
    )


_TOP_TAKEAWAYS = [
    "Ukraine cannot wait for peace to rebuild: every repair should also make the system harder "
    "to break.",
    "Rebuilding the pre‑war energy system as it was would repeat its main weakness — "
    "concentration.",
    "Hospitals, water and heat should be able to run for 72\u00a0hours without the grid.",
    "Housing standards must include shelters and energy efficiency from day one, not as retrofits.",
    "Residents should be consulted before the first tender, not after the design is fixed.",
    "Humanitarian demining is a precondition for rural recovery and should be financed as "
    "infrastructure.",
    "Every new digital system in reconstruction must be designed on the assumption that it "
    "will be attacked.",
    "Open, auditable procurement protects both donor money and public trust.",
    "Japan’s experience is most useful in planning, building codes and community consultation — "
    "less so in financing.",
    "Investors need predictability: war‑risk insurance, guarantees and partners who keep their "
    "word.",
]


def _report_body() -> str:
    return _md(
        "## About this report",
        "Ukraine is rebuilding while it is still under attack. This report looks at three areas "
        "where that paradox is sharpest — energy, housing and municipal services, and the "
        "security of the reconstruction process itself — and asks what Japan’s long recoveries "
        "after 1995 and 2011 can and cannot teach. It draws on 46\u00a0interviews with municipal "
        "officials, engineers and investors, held between October 2025 and February 2026, and "
        "on the discussions at our Ukraine–Japan Forum on Reconstruction and Security in Kyiv.",
        "## 1. Energy: from large plants to resilient networks",
        "Ukraine’s power system was built around large plants connected by a long‑distance "
        "grid. That design is efficient in peacetime and fragile in war: a handful of strikes "
        "can take out a large share of capacity, and repairs take months.",
        "The most resilient communities we studied did not wait for the grid to come back. "
        "Hospitals installed their own generation; water utilities added batteries to pumping "
        "stations; heating companies replaced one large boiler with several small cogeneration "
        "units. Each decision was local, and each reduced the damage a single strike can do.",
        "Rebuilding the old system as it was would repeat its weakness. The task for the "
        "government and its partners is to turn these local decisions into a plan: common "
        "technical standards, grid rules that let small producers connect within weeks rather "
        "than years, and financing that rewards resilience, not only the lowest cost per "
        "megawatt.",
        "**Key takeaways**",
        "- Distributed generation is a security measure, not only a climate measure.\n"
        "- Critical services should be able to run for 72\u00a0hours without the grid.\n"
        "- Connection rules for small producers must become faster and simpler.",
        "## 2. Housing and municipal services",
        "Housing is where reconstruction meets daily life. Families return to a town when "
        "there is a flat to live in, a school with a shelter, a bus that runs and water that "
        "comes out of the tap. In our interviews, mayors named the same obstacle again and "
        "again: projects designed far away, for an average town that does not exist.",
        "The towns that moved fastest did three things. They kept an up‑to‑date register of "
        "damaged buildings that residents could see and correct. They built to standards that "
        "included shelters, insulation and accessible entrances from the start, instead of "
        "adding them later at twice the cost. And they consulted residents before the first "
        "tender — a practice Japanese planners call «まちづくり» (machizukuri), community‑led "
        "town building.",
        "**Key takeaways**",
        "- A public, correctable register of damage is the foundation of fair rebuilding.\n"
        "- Shelters and energy efficiency belong in the first design, not in a retrofit.\n"
        "- Consultation before the tender saves time after it.",
        "## 3. The security of reconstruction",
        "Reconstruction creates new targets and new temptations. Physically, large areas of "
        "farmland still have to be surveyed and cleared before anyone can plant or build on "
        "them; demining is slow, and it decides which villages can come back first. Digitally, "
        "every new control system for a substation or a water plant is a door that an attacker "
        "will try. And financially, money that moves fast through many hands invites abuse.",
        "The answer in all three cases is the same: design for the threat from the start. "
        "Demining should be planned and paid for like any other infrastructure. Digital "
        "systems should be built on the assumption that they will be attacked. Procurement "
        "should leave a public, auditable trail — not as a concession to donors, but because "
        "public trust is itself a line of defence.",
        "**Key takeaways**",
        "- Finance humanitarian demining as infrastructure, with a public order of priorities.\n"
        "- Treat cyber security as a design requirement of every rebuilt system.\n"
        "- Open procurement protects both the money and the trust.",
        "## 4. What Japan’s experience offers — and what it does not",
        "Japan rebuilt Kobe after the 1995 earthquake and the Tōhoku coast after 2011 with "
        "strong building codes, detailed risk maps and, over time, a habit of involving "
        "residents in planning. Its planners are also frank about mistakes: some seawalls and "
        "relocated settlements were built quickly and then stood half empty, because the "
        "people they were meant for had moved on.",
        "The differences matter as much as the lessons. Japan rebuilt in peace, with a large "
        "domestic economy and its own budget. Ukraine rebuilds under fire, with partners’ "
        "money and a workforce stretched by the war. Japanese experience is therefore most "
        "useful in planning, codes and consultation — and least useful as a model for "
        "financing, where Ukraine needs war‑risk insurance and guarantees that Japan never did.",
        "**Key takeaways**",
        "- Borrow Japan’s planning culture and building codes, not its financing model.\n"
        "- Speed without consultation builds neighbourhoods that nobody returns to.",
        "## Recommendations",
        "1. Adopt national standards for distributed generation at critical facilities.\n"
        "2. Publish a single, open register of damaged buildings and planned works.\n"
        "3. Make consultation with residents a condition of funding for housing projects.\n"
        "4. Create a demining fund with a transparent order of priorities.\n"
        "5. Expand war‑risk insurance and first‑loss guarantees for foreign investors.",
        "*Herald Policy Centre is an independent research organisation. The views in this "
        "report are those of its authors.*",
    )


def _report() -> DemoPost:
    return DemoPost(
        key=REPORT_KEY,
        kind="report",
        language="en",
        translation_of=None,
        slug=_SLUGS[REPORT_KEY],
        title="Rebuilding to Last: Energy, Housing and Security in Ukraine’s Recovery",
        summary="How to rebuild Ukraine’s energy system, housing and municipal services so that "
        "each investment also makes the country harder to break — with lessons, and limits, "
        "from Japan’s long recoveries.",
        body=_report_body(),
        takeaways=list(_TOP_TAKEAWAYS),
        speakers=[],
        media=[],
        topics=["Research"],
        author=ORGANISATION,
        location="Kyiv",
        starts_at=None,
        timezone="Europe/Kyiv",
        published_at=_utc(2026, 4, 6, 7),
        image_url=f"{_PHOTOS}/reports/rebuilding-to-last-cover.jpg",
        image_alt="Cover of the report: a repaired electricity pylon against a pale blue and "
        "yellow sky",
    )
