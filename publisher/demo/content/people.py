"""Demo subscribers: deterministic readers in Ukrainian, English and Japanese."""

from __future__ import annotations

from publisher.demo.content.shape import DemoSubscriber


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
