"""Sample content for the demo and the tests: a fictional policy centre, its posts and readers.

Everything here is written for Herald: the Herald Policy Centre, its forum, its report and
every person named are fictional. The text deliberately mixes scripts and typography
(Cyrillic and Japanese inside English, typographic quotes, en and em dashes, "•" bullets,
non-breaking spaces) because that is what real publications look like and nothing may be
mangled on the way to a reader. Pure data: no database, no clock, no randomness.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

FORUM_KEY = "forum-2026"
FORUM_UK_KEY = "forum-2026-uk"
FORUM_JA_KEY = "forum-2026-ja"
DEMINING_KEY = "panel-demining-2026"
CITIES_KEY = "panel-cities-2026"
REPORT_KEY = "report-rebuilding-to-last"

ORGANISATION = "Herald Policy Centre"
NBSP = "\u00a0"

_VIDEO = "https://video.example.org/herald"
_PHOTOS = "https://photos.example.org/herald"


@dataclass(frozen=True, slots=True)
class DemoPost:
    """One post as an editor would enter it; ``key`` is stable, ids are the database's.

    ``speakers`` hold name, role, organisation and quote; ``media`` hold label, url and
    language (empty for a language-neutral item such as a photo report).
    """

    key: str
    kind: str
    language: str
    translation_of: str | None
    slug: str
    title: str
    summary: str
    body: str
    takeaways: list[str]
    speakers: list[dict[str, str]]
    media: list[dict[str, str]]
    topics: list[str]
    author: str
    location: str
    starts_at: datetime | None
    timezone: str
    published_at: datetime
    image_url: str
    image_alt: str


@dataclass(frozen=True, slots=True)
class DemoSubscriber:
    """One reader: address, display name (may be empty), language and time zone."""

    email: str
    name: str
    language: str
    timezone: str


def post_url(base_url: str, slug: str) -> str:
    """The public page of the post with ``slug`` on the site at ``base_url``."""
    return f"{base_url.rstrip('/')}/posts/{slug}"


def _utc(year: int, month: int, day: int, hour: int, minute: int = 0) -> datetime:
    return datetime(year, month, day, hour, minute, tzinfo=UTC)


def _md(*blocks: str) -> str:
    """Markdown from blocks (paragraphs, headings, lists), separated by blank lines."""
    return "\n\n".join(blocks)


def _speaker(name: str, role: str, organisation: str, quote: str) -> dict[str, str]:
    return {"name": name, "role": role, "organisation": organisation, "quote": quote}


def _media(label: str, url: str, language: str) -> dict[str, str]:
    return {"label": label, "url": url, "language": language}


# Slugs, needed up front because the three language versions of the forum link to each other.
_SLUGS = {
    FORUM_KEY: "ukraine-japan-forum-2026",
    FORUM_UK_KEY: "ukrainsko-yaponskyi-forum-2026",
    FORUM_JA_KEY: "ukraine-japan-forum-2026-ja",
    DEMINING_KEY: "panel-clearing-the-fields",
    CITIES_KEY: "panel-cities-that-heal",
    REPORT_KEY: "rebuilding-to-last",
}

# The forum opened with a live link to Tokyo: 10:00 in Kyiv (UTC+2) is 17:00 in Tokyo.
_FORUM_STARTS = _utc(2026, 3, 18, 8)

_FORUM_MEDIA = [
    ("Video recording (English)", f"{_VIDEO}/forum-2026/en", "en"),
    ("Video recording (Ukrainian)", f"{_VIDEO}/forum-2026/uk", "uk"),
    ("Photo report", f"{_PHOTOS}/forum-2026/", ""),
]


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


def _forum_ja(base_url: str) -> DemoPost:
    en_url = post_url(base_url, _SLUGS[FORUM_KEY])
    uk_url = post_url(base_url, _SLUGS[FORUM_UK_KEY])
    media = [
        ("録画（英語）", f"{_VIDEO}/forum-2026/en", "en"),
        ("録画（ウクライナ語）", f"{_VIDEO}/forum-2026/uk", "uk"),
        ("フォトレポート", f"{_PHOTOS}/forum-2026/", ""),
    ]
    body = _md(
        "## ウクライナ・日本 復興と安全保障フォーラム",
        "**日時**：2026年3月18日 10:00〜17:30"
        "（キーウ時間、UTC+2）• "
        "東京セッション 17:00〜18:30（日本時間）  \n"
        "**会場**：Herald Policy Centre（キーウ）"
        "およびオンライン（東京）  \n"
        "**言語**：英語・ウクライナ語（同時通訳付き）",
        "ウクライナの復興（«Відбудова»）は、"
        "戦争の終結を待ってはくれません。"
        "発電所は攻撃の合間に修理され、"
        "学校は地下にシェルターを備えて再開し、"
        "自治体は畑の地雷を除去しながら次の冬に備えています。"
        "日本は長い復興を知る国です。"
        "1995年の阪神・淡路大震災、"
        "2011年の東日本大震災の後、"
        "日本の都市は次の災害を見据えながら、"
        "何十年もかけて再建を進めてきました。",
        "本フォーラムでは、この二つの経験を並べて検討しました。"
        "キーウの会場に120名、オンラインで400名以上が参加し、"
        "両国が互いに何を学べるのか、"
        "そして声明文の中だけでなく、"
        "実際のパートナーシップはどうあるべきかを議論しました。",
        "### パネル1　エネルギーと住宅：より良い復興",
        "モデレーター：オレーナ・フリツェンコ。"
        "修理のたびにシステムが壊れにくくなるような"
        "復興のあり方を議論しました。",
        "- 分散型電源：小型ガスタービン、蓄電池付き太陽光発電、"
        "病院や上下水道のためのヒートポンプ\n"
        "- 最初からシェルターと省エネルギーを組み込んだ住宅基準\n"
        "- 検証可能な公開調達は、汚職対策であると同時に"
        "安全保障の問題でもある",
        "### パネル2　前線の外の安全保障",
        "人道的地雷除去、電力網のサイバー防衛、"
        "重要インフラの防護について。"
        "登壇者は、復興における「安全保障」は"
        "建物が建つずっと前から始まるという点で一致しました。"
        "畑の調査、制御システムの設計、"
        "そして入札一つひとつの記録からです。",
        "### パネル3（東京セッション）　復興の資金をどう確保するか",
        "東京から、渡辺 健二氏と佐藤 美咲氏が、"
        "戦争リスク保険、事業の初期数年を支える保証、"
        "そして日本企業がウクライナのパートナーを"
        "どのように選ぶのかについて語りました。",
        "1. 熱意よりも予見可能性\n"
        "2. 同じ質問に二度、同じ答えを返す自治体\n"
        "3. 地域の復興を支える中小企業",
        "### 録画と写真",
        "\n".join(f"- [{label}]({url})" for label, url, _ in media),
        f"この記事は[英語]({en_url})と[ウクライナ語]({uk_url})でもお読みいただけます。",
        "---",
        "**購読して、いち早く情報を受け取りましょう**。"
        "イベントのお知らせ、録画、最新の研究成果を、"
        "どこよりも早く、英語・ウクライナ語・日本語でお届けします。",
    )
    return DemoPost(
        key=FORUM_JA_KEY,
        kind="event",
        language="ja",
        translation_of=FORUM_KEY,
        slug=_SLUGS[FORUM_JA_KEY],
        title="ウクライナ・日本 復興と安全保障フォーラム：キーウから東京へ",
        summary=(
            "2026年3月18日、Herald Policy Centreは"
            "キーウと東京を結び、ウクライナと日本の"
            "行政関係者、技術者、投資家を招いて、"
            "今なお自らを守り続けている国を"
            "どう再建するかを議論しました。"
        ),
        body=body,
        takeaways=[
            "修理のたびにシステムが壊れにくくなるように再建する："
            "より小さく、分散し、よりよく守られたものへ。",
            "住民は最初の入札の前から計画の場にいるべきだ。"
            "2011年後の日本の経験は、信頼の再建が"
            "コンクリートより時間がかかることを示している。",
            "投資家に必要なのは熱意よりも予見可能性：戦争リスク保険、保証、透明な調達。",
        ],
        speakers=[
            _speaker(
                "オレーナ・フリツェンコ（Олена Гриценко）",
                "副所長",
                ORGANISATION,
                "復興は戦争の後に始まるものだと、私たちは考えてきました。"
                "しかしウクライナの街はそうではないことを示しています。"
                "ひと冬に三度修理される水道事業者は、"
                "平和を待っているのではなく、毎週再建しているのです。"
                "私たちの課題は、その修理の一つひとつを二度生かすこと。"
                "冬を越すために、そして三十年後も人々の役に立つ"
                "ネットワークへの一歩として。",
            ),
            _speaker(
                "佐藤 美咲",
                "シニアフェロー",
                "ひかり復興研究所（東京）",
                "2011年の後、私たちはゆっくりと、"
                "そして高い代償を払って学びました。"
                "最も速い再建が、最も良い再建とは限らないということです。"
                "防潮堤は数か月で建ちましたが、"
                "住民と計画者の信頼には何年もかかりました。"
                "ウクライナの同僚に一つだけ助言するなら、"
                "新しい街区に住む人々を、"
                "最初の入札が公告される前に話し合いの場に招くことです。",
            ),
            _speaker(
                "タラス・メリニク（Тарас Мельник）",
                "エネルギー安全保障プログラム責任者",
                ORGANISATION,
                "大きな発電所は大きな標的です。"
                "この冬、明かりを守ったのは何百もの小さな決断でした。"
                "自前の発電設備を持つ病院、"
                "コージェネレーションを導入した熱供給会社、"
                "太陽光パネルと蓄電池を備えた村の協同組合。"
                "「分散型電源」はもはや工学用語ではなく、"
                "国家安全保障の問題なのです。",
            ),
            _speaker(
                "渡辺 健二",
                "東欧担当ディレクター",
                "日本・ウクライナ復興パートナーシップ",
                "日本企業は慎重ですが、それは弱さではありません。"
                "慎重な投資家とは、とどまる投資家のことです。"
                "彼らに必要なのは「熱意」ではなく予見可能性、"
                "つまり実際に支払われる戦争リスク保険、"
                "最初の数年をカバーする保証、"
                "そして約束を守るパートナーです。",
            ),
        ],
        media=[_media(*item) for item in media],
        topics=["Events"],
        author=ORGANISATION,
        location="Herald Policy Centre（キーウ）• オンライン（東京）",
        starts_at=_FORUM_STARTS,
        timezone="Europe/Kyiv",
        published_at=_utc(2026, 3, 21, 0),
        image_url=f"{_PHOTOS}/forum-2026/cover.jpg",
        image_alt="キーウのウクライナ・日本フォーラムの登壇者たち。"
        "背後のスクリーンには東京セッションの中継が映っている",
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


def demo_posts(base_url: str) -> list[DemoPost]:
    """The demo posts, originals before their translations, links built on ``base_url``."""
    return [
        _forum_en(base_url),
        _forum_uk(base_url),
        _forum_ja(base_url),
        _panel_demining(base_url),
        _panel_cities(base_url),
        _report(),
    ]


def _names(written: str, in_address: str) -> list[tuple[str, str]]:
    """Pairs of a name as written and its ASCII form for addresses, from two parallel lists."""
    return list(zip(written.split(), in_address.split(), strict=True))


# Ukrainian and English names include apostrophes on purpose.
_UK_GIVEN = _names(
    "Мар'яна Олена Тарас Ярослав Наталія Дмитро Ольга Андрій Ірина Богдан Соломія Дар'я Юрій",
    "maryana olena taras yaroslav nataliia dmytro olha andrii iryna bohdan solomiia daria yurii",
)
_UK_FAMILY = _names(
    "Коваленко Шевчук Бондаренко Мельник Дем'яненко Ткаченко Кравчук Олійник Лисенко Гнатюк "
    "Пилипенко",
    "kovalenko shevchuk bondarenko melnyk demianenko tkachenko kravchuk oliinyk lysenko hnatiuk "
    "pylypenko",
)
_EN_GIVEN = _names(
    "Siobhan Oliver Amelia James Priya Thomas Grace Daniel Aisha Liam Hannah Zoë Samuel",
    "siobhan oliver amelia james priya thomas grace daniel aisha liam hannah zoe samuel",
)
_EN_FAMILY = _names(
    "O'Connor Smith Patel Brown O'Brien Williams D'Souza Evans Hughes Clarke Murphy",
    "oconnor smith patel brown obrien williams dsouza evans hughes clarke murphy",
)
_JA_GIVEN = _names(
    "美咲 健二 陽菜 翔太 由紀 大輔 さくら 拓海 葵 直樹 結衣 悠斗 美穂",
    "misaki kenji hina shota yuki daisuke sakura takumi aoi naoki yui yuto miho",
)
_JA_FAMILY = _names(
    "佐藤 鈴木 高橋 田中 渡辺 伊藤 山本 中村 小林 加藤 吉田",
    "sato suzuki takahashi tanaka watanabe ito yamamoto nakamura kobayashi kato yoshida",
)
_ZONES = {
    "uk": ["Europe/Kyiv", "Europe/Kyiv", "Europe/Kyiv", "Europe/Warsaw", "Europe/Berlin"],
    "en": ["Europe/London", "America/New_York", "Europe/London", "Europe/Dublin", "Asia/Tokyo"],
    "ja": ["Asia/Tokyo", "Asia/Tokyo", "Asia/Tokyo", "Europe/Kyiv"],
}
# Two in five Ukrainian, two in five English, one in five Japanese.
_LANGUAGE_CYCLE = ("uk", "en", "uk", "en", "ja")
_DOMAINS = ("example.com", "example.org", "example.net")
_EMPTY_NAME_EVERY = 23


def _subscriber(index: int) -> DemoSubscriber:
    language = _LANGUAGE_CYCLE[index % len(_LANGUAGE_CYCLE)]
    given_names, family_names = {
        "uk": (_UK_GIVEN, _UK_FAMILY),
        "en": (_EN_GIVEN, _EN_FAMILY),
        "ja": (_JA_GIVEN, _JA_FAMILY),
    }[language]
    # Coprime list lengths make the pairs of given and family names vary.
    given, given_ascii = given_names[index % len(given_names)]
    family, family_ascii = family_names[index % len(family_names)]
    # Japanese names are written family name first.
    name = f"{family} {given}" if language == "ja" else f"{given} {family}"
    if index % _EMPTY_NAME_EVERY == _EMPTY_NAME_EVERY - 1:
        name = ""
    zones = _ZONES[language]
    domain = _DOMAINS[index % len(_DOMAINS)]
    return DemoSubscriber(
        email=f"{given_ascii}.{family_ascii}.{index + 1}@{domain}",
        name=name,
        language=language,
        timezone=zones[(index // len(_LANGUAGE_CYCLE)) % len(zones)],
    )


def demo_subscribers(count: int = 300) -> list[DemoSubscriber]:
    """``count`` fictional readers, always the same ones, with unique lower-case addresses."""
    return [_subscriber(index) for index in range(count)]
