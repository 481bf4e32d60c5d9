"""The demo forum post, in English and in its Ukrainian and Japanese translations."""

from __future__ import annotations

from publisher.demo.content.shape import (
    _FORUM_MEDIA,
    _FORUM_STARTS,
    _PHOTOS,
    _SLUGS,
    _VIDEO,
    FORUM_JA_KEY,
    FORUM_KEY,
    FORUM_UK_KEY,
    NBSP,
    ORGANISATION,
    DemoPost,
    _md,
    _media,
    _speaker,
    _utc,
    post_url,
)


def _forum_en(base_url: str) -> DemoPost:
    uk_url = post_url(base_url, _SLUGS[FORUM_UK_KEY])
    ja_url = post_url(base_url, _SLUGS[FORUM_JA_KEY])
    body = _md(
        "## Ukraine–Japan Forum on Reconstruction and Security",
        f"**When:** 18{NBSP}March{NBSP}2026, 10:00–17:30 Kyiv time (UTC+2) • "
        f"Tokyo session 17:00–18:30{NBSP}JST  \n"
        "**Where:** Herald Policy Centre, Kyiv, and online from Tokyo  \n"
        "**Languages:** English and Ukrainian, with simultaneous interpretation",
        "Reconstruction in Ukraine — «Відбудова» — does not wait for the war to end. Power "
        "plants are repaired between attacks, schools reopen with shelters in the basement, and "
        "towns plan for the next winter while clearing mines from their fields. Japan knows long "
        "recoveries: after the 1995 Hanshin earthquake and the 2011 tsunami, its cities spent "
        "decades rebuilding with one eye on the next disaster.",
        f"The forum put these two experiences side by side. Over one day, 120{NBSP}participants "
        f"in Kyiv and more than 400{NBSP}online asked what each country can learn from the "
        "other — and what a partnership should look like on a Monday morning, not only in a "
        "communiqué.",
        "### Panel 1. Energy and housing: building back «краще»",
        "Moderated by Olena Hrytsenko. The panel asked how to rebuild so that every repair "
        "also makes the system harder to break:",
        "- distributed generation — small gas turbines, solar with storage, heat pumps for "
        "hospitals and water utilities;\n"
        "- housing standards that include shelters and energy efficiency from day one;\n"
        "- open, auditable procurement as a security measure as much as an anti‑corruption one.",
        "### Panel 2. Security beyond the front line",
        "Humanitarian demining, cyber defence of the grid and the protection of critical "
        "infrastructure. Speakers agreed that “security” in reconstruction starts long before "
        "a building goes up: with the survey of a field, the design of a control system, the "
        "audit trail of a tender.",
        "### Panel 3 (Tokyo session). Financing the recovery",
        "Live from Tokyo, Kenji Watanabe and Misaki Sato (佐藤 美咲) discussed war‑risk "
        "insurance, guarantees for the first years of a project, and how Japanese companies "
        "choose their Ukrainian partners:",
        "1. predictability over enthusiasm;\n"
        "2. municipalities that answer the same question the same way twice;\n"
        "3. small and medium‑sized firms as the backbone of local recovery.",
        "### Recordings and photos",
        "\n".join(f"- [{label}]({url})" for label, url, _ in _FORUM_MEDIA),
        f"This report is also available [українською]({uk_url}) and [日本語で]({ja_url}).",
        "---",
        "**Subscribe and find out everything first.** Announcements of our events, recordings "
        "and new research reach your inbox before they appear anywhere else — in English, "
        "Ukrainian or Japanese.",
    )
    return DemoPost(
        key=FORUM_KEY,
        kind="event",
        language="en",
        translation_of=None,
        slug=_SLUGS[FORUM_KEY],
        title="Ukraine–Japan Forum on Reconstruction and Security: «Відбудова» from Kyiv to Tokyo",
        summary=(
            f"On 18{NBSP}March{NBSP}2026 Herald Policy Centre brought together officials, "
            "engineers and investors from Ukraine and Japan — in Kyiv and live from Tokyo — to "
            "ask what it takes to rebuild a country that is still defending itself."
        ),
        body=body,
        takeaways=[
            "Rebuild so that each repair also makes the system harder to break: smaller, "
            "distributed, better protected.",
            "Residents belong at the planning table before the first tender — Japan’s experience "
            "after 2011 shows that trust takes longer than concrete.",
            "Investors need predictability more than enthusiasm: war‑risk insurance, guarantees "
            "and transparent procurement.",
        ],
        speakers=[
            _speaker(
                "Olena Hrytsenko (Олена Гриценко)",
                "Deputy Director",
                ORGANISATION,
                "We used to say that reconstruction begins after the war. Ukrainian towns have "
                "shown us otherwise: a water utility that is repaired three times in one winter "
                "is not waiting for peace — it is rebuilding every week. Our task is to make each "
                "of those repairs count twice: once to get through the winter, and once as a "
                "step towards a network that will still serve people in thirty years.",
            ),
            _speaker(
                "Misaki Sato (佐藤 美咲)",
                "Senior Fellow",
                "Hikari Institute for Recovery Studies, Tokyo",
                "After 2011 we learned — slowly, and at a high price — that the fastest "
                "rebuilding is not always the best. Seawalls went up in months; trust between "
                "residents and planners took years. If I could give my Ukrainian colleagues one "
                "piece of advice, it would be this: put the people who will live in the new "
                "neighbourhood at the table before the first tender is published, not after.",
            ),
            _speaker(
                "Taras Melnyk (Тарас Мельник)",
                "Head of the Energy Security Programme",
                ORGANISATION,
                "A large power plant is a large target. What kept the lights on this winter were "
                "hundreds of small decisions: a hospital with its own generation, a heating "
                "company that installed cogeneration units, a village co‑operative with solar "
                "panels and batteries. «Розподілена генерація» — distributed generation — is no "
                "longer an engineering term for us; it is a matter of national security.",
            ),
            _speaker(
                "Kenji Watanabe (渡辺 健二)",
                "Director for Eastern Europe",
                "Japan–Ukraine Recovery Partnership",
                "Japanese companies are cautious, and that is not a weakness: a cautious investor "
                "is one who stays. What they need from us is not “enthusiasm” but "
                "predictability — war‑risk insurance that actually pays out, guarantees that "
                "cover the first years, and partners who keep their word.",
            ),
        ],
        media=[_media(*item) for item in _FORUM_MEDIA],
        topics=["Events"],
        author=ORGANISATION,
        location="Herald Policy Centre, Kyiv • online from Tokyo",
        starts_at=_FORUM_STARTS,
        timezone="Europe/Kyiv",
        published_at=_utc(2026, 3, 20, 9),
        image_url=f"{_PHOTOS}/forum-2026/cover.jpg",
        image_alt="Speakers on the stage of the Ukraine–Japan Forum in Kyiv, with a video link "
        "to the Tokyo session on the screen behind them",
    )


def _forum_uk(base_url: str) -> DemoPost:
    en_url = post_url(base_url, _SLUGS[FORUM_KEY])
    ja_url = post_url(base_url, _SLUGS[FORUM_JA_KEY])
    media = [
        ("Відеозапис українською", f"{_VIDEO}/forum-2026/uk", "uk"),
        ("Відеозапис англійською", f"{_VIDEO}/forum-2026/en", "en"),
        ("Фоторепортаж", f"{_PHOTOS}/forum-2026/", ""),
    ]
    body = _md(
        "## Українсько-японський форум з питань відбудови та безпеки",
        f"**Коли:** 18{NBSP}березня{NBSP}2026, 10:00–17:30 за київським часом (UTC+2) • "
        "сесія в Токіо 17:00–18:30 за японським часом  \n"
        "**Де:** Herald Policy Centre, Київ, та онлайн з Токіо  \n"
        "**Мови:** українська та англійська, із синхронним перекладом",
        "Відбудова України не чекає на завершення війни. Електростанції ремонтують між "
        "атаками, школи відкриваються з укриттями в підвалах, а громади готуються до наступної "
        "зими, водночас розміновуючи свої поля. Японія знає, що таке довге відновлення: після "
        "землетрусу 1995 року та цунамі 2011 року її міста десятиліттями відбудовувалися, "
        "думаючи про наступну катастрофу.",
        f"Форум поставив ці два досвіди поруч. Протягом дня 120{NBSP}учасників у Києві та "
        f"понад 400{NBSP}онлайн обговорювали, чого наші країни можуть навчитися одна в одної — "
        "і як партнерство має виглядати в понеділок зранку, а не лише в комюніке.",
        "### Панель 1. Енергетика та житло: відбудувати краще",
        "Модераторка — Олена Гриценко. Учасники говорили про те, як відбудовувати так, щоб "
        "кожен ремонт робив систему стійкішою:",
        "- розподілена генерація — невеликі газові турбіни, сонячні станції з накопичувачами, "
        "теплові насоси для лікарень і водоканалів;\n"
        "- стандарти житла, які від початку передбачають укриття та енергоефективність;\n"
        "- відкриті закупівлі, які можна перевірити, — питання безпеки не менше, ніж "
        "боротьби з корупцією.",
        "### Панель 2. Безпека поза лінією фронту",
        "Гуманітарне розмінування, кіберзахист енергосистеми та захист критичної "
        "інфраструктури. Спікери погодилися, що «безпека» відбудови починається задовго до "
        "того, як зводять будівлю: з обстеження поля, з проєкту системи керування, з "
        "прозорого сліду кожного тендеру.",
        "### Панель 3 (сесія в Токіо). Як фінансувати відбудову",
        "У прямому включенні з Токіо Кенджі Ватанабе та Місакі Сато (佐藤 美咲) говорили про "
        "страхування воєнних ризиків, гарантії на перші роки проєктів і про те, як японські "
        "компанії обирають українських партнерів:",
        "1. передбачуваність важливіша за ентузіазм;\n"
        "2. громади, які двічі відповідають на те саме питання однаково;\n"
        "3. малий і середній бізнес як основа місцевого відновлення.",
        "### Відеозаписи та фото",
        "\n".join(f"- [{label}]({url})" for label, url, _ in media),
        f"Цей матеріал також доступний [англійською]({en_url}) та [японською]({ja_url}).",
        "---",
        "**Підписуйтеся та дізнавайтеся про все першими.** Анонси наших подій, записи та нові "
        "дослідження надходять на вашу пошту раніше, ніж з’являються деінде, — українською, "
        "англійською або японською.",
    )
    return DemoPost(
        key=FORUM_UK_KEY,
        kind="event",
        language="uk",
        translation_of=FORUM_KEY,
        slug=_SLUGS[FORUM_UK_KEY],
        title="Українсько-японський форум з питань відбудови та безпеки: від Києва до Токіо",
        summary=(
            f"18{NBSP}березня{NBSP}2026 року Herald Policy Centre зібрав у Києві — і в прямому "
            "включенні з Токіо — урядовців, інженерів та інвесторів з України та Японії, щоб "
            "з’ясувати, що потрібно для відбудови країни, яка досі захищається."
        ),
        body=body,
        takeaways=[
            "Відбудовувати так, щоб кожен ремонт робив систему стійкішою: меншою, "
            "розподіленою, краще захищеною.",
            "Мешканці мають сідати за стіл планування ще до першого тендеру — досвід Японії "
            "після 2011 року показує, що довіра будується довше, ніж бетон.",
            "Інвесторам потрібна передбачуваність більше, ніж ентузіазм: страхування воєнних "
            "ризиків, гарантії та прозорі закупівлі.",
        ],
        speakers=[
            _speaker(
                "Олена Гриценко",
                "заступниця директора",
                ORGANISATION,
                "Ми звикли казати, що відбудова починається після війни. Українські громади "
                "показали інше: водоканал, який за одну зиму ремонтують тричі, не чекає миру — "
                "він відбудовується щотижня. Наше завдання — щоб кожен такий ремонт рахувався "
                "двічі: щоб пережити зиму і як крок до мережі, яка служитиме людям і через "
                "тридцять років.",
            ),
            _speaker(
                "Місакі Сато (佐藤 美咲)",
                "старша наукова співробітниця",
                "Інститут досліджень відновлення «Хікарі», Токіо",
                "Після 2011 року ми зрозуміли — повільно і дорогою ціною, — що найшвидша "
                "відбудова не завжди найкраща. Дамби звели за місяці, а довіру між мешканцями "
                "та планувальниками відновлювали роками. Якби я могла дати українським колегам "
                "одну пораду, вона була б такою: запросіть людей, які житимуть у новому "
                "кварталі, до столу ще до оголошення першого тендеру, а не після.",
            ),
            _speaker(
                "Тарас Мельник",
                "керівник програми енергетичної безпеки",
                ORGANISATION,
                "Велика електростанція — це велика ціль. Світло цієї зими втримали сотні "
                "маленьких рішень: лікарня з власною генерацією, тепловики, які встановили "
                "когенераційні установки, сільський кооператив із сонячними панелями та "
                "батареями. «Розподілена генерація» для нас більше не інженерний термін — це "
                "питання національної безпеки.",
            ),
            _speaker(
                "Кенджі Ватанабе (渡辺 健二)",
                "директор з питань Східної Європи",
                "Японсько-українське партнерство з відновлення",
                "Японські компанії обережні, і це не слабкість: обережний інвестор — той, хто "
                "залишається. Їм потрібен від нас не «ентузіазм», а передбачуваність — "
                "страхування воєнних ризиків, яке справді виплачує, гарантії на перші роки і "
                "партнери, які тримають слово.",
            ),
        ],
        media=[_media(*item) for item in media],
        topics=["Events"],
        author=ORGANISATION,
        location="Herald Policy Centre, Київ • онлайн з Токіо",
        starts_at=_FORUM_STARTS,
        timezone="Europe/Kyiv",
        published_at=_utc(2026, 3, 20, 12),
        image_url=f"{_PHOTOS}/forum-2026/cover.jpg",
        image_alt="Спікери на сцені Українсько-японського форуму в Києві; на екрані позаду — "
        "пряме включення з Токіо",
    )
