"""Writes tests/data/long_report_{en,uk,ja}.md: a fictional long analytical report.

The report ("Resilience after the war: energy, cities and security", by the fictional Herald
Policy Centre) mixes scripts the way real policy writing does: English with Ukrainian words
left in, Japanese names, typographic quotes, en and em dashes, "•" bullets and non-breaking
spaces. Its prose is assembled from sentence pools with a fixed seed, so running this again
writes the same files. Run from the repository root: ``python tests/data/make_long_report.py``.
"""

from __future__ import annotations

import random
from pathlib import Path

HERE = Path(__file__).parent
NBSP = "\u00a0"

FRONT = {
    "en": {
        "title": "Resilience after the war: energy, cities and security — a long view",
        "slug": "resilience-after-the-war",
        "summary": (
            "Our analytical report on Ukraine’s reconstruction: what the Kyiv–Tokyo forum "
            "taught us about energy, housing and security, in ten takeaways."
        ),
        "author": "Herald Policy Centre",
    },
    "uk": {
        "title": "Стійкість після війни: енергетика, міста і безпека — довгий погляд",
        "slug": "stiikist-pislia-viiny",
        "summary": (
            "Аналітичний звіт про відбудову України: чого нас навчив форум «Київ — Токіо» "
            "про енергетику, житло та безпеку, у десяти висновках."
        ),
        "author": "Центр політик «Герольд»",
    },
    "ja": {
        "title": "戦後のレジリエンス：エネルギー、都市、安全保障 — 長期的な視点",
        "slug": "sengo-no-resiliensu",
        "summary": (
            "ウクライナ復興に関する分析報告書。「キーウ・東京フォーラム」から学んだ"
            "エネルギー、住宅、安全保障の十の要点。"
        ),
        "author": "ヘラルド政策センター",
    },
}

HEADINGS = {
    "en": [
        "Top 10 takeaways",
        "Energy that survives the winter",
        "Cities rebuilt “better”",
        "Security and the long peace",
        "Money, procurement and trust",
        "What Tokyo learned after 2011",
        "Regions and the people who stayed",
        "Key takeaways by section",
        "Method and sources",
    ],
    "uk": [
        "Топ-10 висновків",
        "Енергетика, що переживе зиму",
        "Міста, відбудовані «краще»",
        "Безпека і довгий мир",
        "Гроші, закупівлі та довіра",
        "Чого Токіо навчився після 2011",
        "Регіони і люди, які залишилися",
        "Ключові висновки за розділами",
        "Метод і джерела",
    ],
    "ja": [
        "トップ10の要点",
        "冬を越えるエネルギー",
        "「より良く」再建される都市",
        "安全保障と長い平和",
        "資金、調達、信頼",
        "2011年以降に東京が学んだこと",
        "地域と残った人々",
        "セクション別の要点",
        "方法と資料",
    ],
}

TAKEAWAYS = {
    "en": [
        "Distributed generation — rooftop solar, small gas turbines, heat pumps — kept "
        f"hospitals running through 2{NBSP}000 hours of outages.",
        "Cities that published every tender online rebuilt schools 30% faster.",
        "“Build back better” only works when residents choose what “better” means.",
        "Japanese experience after 2011 shows that grid storage pays back within a decade.",
        "Security guarantees and reconstruction finance are one question, not two — "
        "Оксана Мельник’s panel put it as «безпека — це теж інфраструктура».",
        f"Small municipalities need{NBSP}grants, not loans: their budgets cannot carry debt.",
        "Demining is the first reconstruction project everywhere else waits on.",
        "Housing vouchers moved 40,000 families faster than new construction did.",
        "Data on damage must be open; closed registers invite double funding.",
        "Trust is the scarcest input: audits, not promises, are what donors renew for.",
    ],
    "uk": [
        "Розподілена генерація — сонячні панелі на дахах, малі газові турбіни, теплові "
        f"насоси — тримала лікарні під час 2{NBSP}000 годин відключень.",
        "Міста, що публікували кожен тендер онлайн, відбудовували школи на 30 % швидше.",
        "«Відбудувати краще» працює лише тоді, коли мешканці самі вирішують, що таке «краще».",
        "Досвід Японії після 2011 року показує: накопичувачі окупаються за десять років.",
        "Гарантії безпеки і фінансування відбудови — одне питання, а не два.",
        f"Малим громадам потрібні гранти, а не кредити:{NBSP}їхні бюджети не витримають боргу.",
        "Розмінування — перший проєкт відбудови, на який чекає все інше.",
        "Житлові ваучери переселили 40 000 родин швидше, ніж нове будівництво.",
        "Дані про руйнування мають бути відкритими: закриті реєстри заохочують подвійне "
        "фінансування.",
        "Довіра — найдефіцитніший ресурс: донори продовжують фінансування за аудити, а не "
        "за обіцянки.",
    ],
    "ja": [
        "屋上太陽光、小型ガスタービン、ヒートポンプによる分散型発電が、2,000時間の停電の間も病院を支えた。",
        "すべての入札をオンラインで公開した都市は、学校の再建が30％速かった。",
        "「より良い復興」は、住民が「より良い」の意味を選ぶときにのみ機能する。",
        "2011年以降の日本の経験は、系統用蓄電池が10年以内に元を取ることを示している。",
        "安全保障の保証と復興資金は、二つではなく一つの問題である。",
        "小規模自治体に必要なのは融資ではなく補助金だ。予算が債務に耐えられない。",
        "地雷除去は、他のすべてが待つ最初の復興事業である。",
        "住宅バウチャーは新築よりも速く4万世帯を移転させた。",
        "被害データは公開されるべきだ。閉ざされた登録簿は二重の資金提供を招く。",
        "信頼こそ最も乏しい資源であり、援助国は約束ではなく監査に対して資金を更新する。",
    ],
}

SENTENCES = {
    "en": [
        "The forum in Kyiv opened with a minute of silence and then went straight to numbers.",
        "Speakers from Kharkiv, Lviv and Sendai compared the first winter after the damage.",
        "Yamada Hanako (山田 花子) of the fictional Sendai Recovery Office described the "
        "three years it took to rebuild the port.",
        "In Ukrainian the word is «відновлення» — recovery — and panellists used it on purpose.",
        "Procurement reform came up in every session, usually as a complaint and then as a plan.",
        "A hospital in Chernihiv ran for 41 days on a micro-grid built in two weeks.",
        f"The cost of a heat pump for a school fell to about 12{NBSP}000 euros per classroom.",
        "Municipal engineers asked for standard designs they can adapt, not bespoke projects.",
        "Donors want audits; mayors want speed; residents want a say — all three are right.",
        "Japanese officials stressed that the plan written in the first year shapes the next "
        "twenty.",
        "The panel on security was the longest and the most candid of the day.",
        "Insurance for reconstruction projects remains the missing piece for private money.",
        "Several speakers quoted the phrase «будуємо краще, ніж було» — build better than before.",
        "The housing session turned on one question: who decides where people will live?",
        "Open damage registers — the kind Kyiv published this spring — cut duplicate claims.",
        "Energy storage, once a luxury, is now the first line of every municipal budget.",
        "Mines and unexploded ordnance still cover an area larger than some European states.",
        "Local councils that held public hearings saw fewer disputes later in construction.",
        f"One mayor said: “We rebuilt the bridge in 90{NBSP}days; the paperwork took 300.”",
        "The fictional Kyiv–Tokyo Resilience Forum meets again next year in Sendai.",
        "Every recommendation in this report was discussed with the people it would affect.",
        "Grid operators described a routine: repair by night, brace for the next strike by day.",
        "The Japanese delegation brought drawings of schools designed to double as shelters.",
        "Transparency does not slow things down; rework and court cases do.",
        "The cheapest kilowatt-hour is the one a well-insulated building never needs.",
    ],
    "uk": [
        "Форум у Києві почався з хвилини мовчання, а потім одразу перейшов до цифр.",
        "Спікери з Харкова, Львова та Сендая порівнювали першу зиму після руйнувань.",
        "Ямада Ханако (山田 花子) з вигаданого Офісу відновлення Сендая розповіла, як три роки "
        "відбудовували порт.",
        "Англійською це «recovery», але учасники навмисно казали «відновлення».",
        "Реформа закупівель звучала на кожній сесії — спершу як скарга, потім як план.",
        "Лікарня в Чернігові працювала 41 день від мікромережі, збудованої за два тижні.",
        f"Вартість теплового насоса для школи знизилася приблизно до 12{NBSP}000 євро на клас.",
        "Інженери громад просили типові проєкти, які можна адаптувати, а не індивідуальні.",
        "Донори хочуть аудитів, мери — швидкості, мешканці — права голосу; праві всі троє.",
        "Японські посадовці наголошували: план, написаний у перший рік, визначає наступні "
        "двадцять.",
        "Панель про безпеку була найдовшою і найвідвертішою за день.",
        "Страхування проєктів відбудови залишається відсутньою ланкою для приватних грошей.",
        "Кілька спікерів повторювали: «будуємо краще, ніж було».",
        "Сесія про житло крутилася довкола одного питання: хто вирішує, де житимуть люди?",
        "Відкриті реєстри пошкоджень — такі, як Київ оприлюднив навесні, — зменшують дублікати.",
        "Накопичення енергії, колись розкіш, тепер перший рядок кожного бюджету громади.",
        "Міни та нерозірвані боєприпаси досі вкривають площу, більшу за деякі країни Європи.",
        "Ради, що проводили громадські слухання, мали менше суперечок під час будівництва.",
        f"Один мер сказав: «Міст ми відбудували за 90{NBSP}днів, папери забрали 300»."
        " Зала засміялася — і зааплодувала.",
        "Вигаданий форум стійкості «Київ — Токіо» зустрінеться наступного року в Сендаї.",
        "Кожну рекомендацію цього звіту обговорили з людьми, яких вона стосується.",
        "Оператори мереж описали розпорядок: ремонт уночі, підготовка до наступного удару вдень.",
        "Японська делегація привезла креслення шкіл, що водночас є укриттями.",
        "Прозорість не сповільнює роботу; її сповільнюють переробки та судові справи.",
        "Найдешевша кіловат-година — та, якої добре утеплена будівля ніколи не потребує.",
    ],
    "ja": [
        "キーウのフォーラムは黙祷で始まり、すぐに数字の議論に移った。",
        "ハルキウ、リヴィウ、仙台の登壇者が、被害後最初の冬を比較した。",
        "架空の仙台復興事務所の山田花子氏は、港の再建に3年かかった経緯を語った。",
        "ウクライナ語では「відновлення」（復興）といい、登壇者は意図的にこの言葉を使った。",
        "調達改革はすべてのセッションで取り上げられ、最初は不満として、次に計画として語られた。",
        "チェルニーヒウの病院は、2週間で建設されたマイクログリッドで41日間稼働した。",
        "学校用ヒートポンプの費用は、教室あたり約1万2千ユーロまで下がった。",
        "自治体の技術者は、個別設計ではなく、応用できる標準設計を求めた。",
        "援助国は監査を、市長は速さを、住民は発言権を求める。三者とも正しい。",
        "日本の当局者は、最初の1年に書かれた計画がその後20年を形作ると強調した。",
        "安全保障のパネルは、その日で最も長く、最も率直なものだった。",
        "復興事業の保険は、民間資金にとって依然として欠けている部分である。",
        "何人かの登壇者は「以前より良く建てる」という言葉を引用した。",
        "住宅のセッションは一つの問いを巡った。人々がどこに住むかを誰が決めるのか。",
        "キーウが今春公開したような被害登録簿の公開は、重複申請を減らす。",
        "かつて贅沢だった蓄電は、今やすべての自治体予算の最初の項目である。",
        "地雷と不発弾は、今なおヨーロッパの一部の国より広い面積を覆っている。",
        "公聴会を開いた議会では、建設段階での紛争が少なかった。",
        "ある市長は「橋は90日で再建したが、書類には300日かかった」と述べた。",
        "架空の「キーウ・東京レジリエンス・フォーラム」は来年仙台で再び開かれる。",
        "本報告書のすべての提言は、影響を受ける人々と議論された。",
        "送電事業者は、夜に修理し、昼に次の攻撃に備えるという日課を説明した。",
        "日本の代表団は、避難所を兼ねる学校の設計図を持参した。",
        "透明性は作業を遅らせない。遅らせるのは手戻りと訴訟である。",
        "最も安いキロワット時は、断熱の良い建物が決して必要としない一キロワット時である。",
    ],
}

PARAGRAPHS_PER_SECTION = {"en": 7, "uk": 5, "ja": 6}
SENTENCES_PER_PARAGRAPH = (4, 9)


def front_matter(language: str) -> str:
    """The YAML block the post importer reads."""
    meta = FRONT[language]
    lines = [
        "---",
        f'title: "{meta["title"]}"',
        "kind: report",
        f"slug: {meta['slug']}",
        f"language: {language}",
        f'author: "{meta["author"]}"',
        "topics: [Research]",
        "status: published",
        "published_at: 2027-05-14T10:00:00+03:00",
        "timezone: Europe/Kyiv",
        f'summary: "{meta["summary"]}"',
    ]
    if language != "en":
        lines.append(f"translation_of: {FRONT['en']['slug']}")
    return "\n".join([*lines, "---", ""])


def body(language: str, rng: random.Random) -> str:
    """Top 10 takeaways, then long sections of prose, each ending in its key takeaways."""
    headings = HEADINGS[language]
    parts = [f"## {headings[0]}", "", *(f"- {item}" for item in TAKEAWAYS[language]), ""]
    for number, heading in enumerate(headings[1:-1], start=1):
        parts += [f"## {number}. {heading}", ""]
        for _ in range(PARAGRAPHS_PER_SECTION[language]):
            parts += [paragraph(language, rng), ""]
        picked = rng.sample(TAKEAWAYS[language], 3)
        parts += [f"**{headings[-2]}:**", "", *(f"• {item}" for item in picked), ""]
    parts += [f"## {headings[-1]}", "", paragraph(language, rng), ""]
    return "\n".join(parts)


def paragraph(language: str, rng: random.Random) -> str:
    """One paragraph on one line, as editors paste it (some run past 998 bytes)."""
    count = rng.randint(*SENTENCES_PER_PARAGRAPH)
    joiner = "" if language == "ja" else " "
    return joiner.join(rng.choice(SENTENCES[language]) for _ in range(count))


def main() -> None:
    """Write the three files."""
    for language in FRONT:
        rng = random.Random(f"herald-long-report-{language}")
        text = front_matter(language) + body(language, rng)
        (HERE / f"long_report_{language}.md").write_text(text, encoding="utf-8")


if __name__ == "__main__":
    main()
