"""A long analytical report (thousands of words, en or uk) for teaser, size and browser tests.

The text is the project's own fictional sample, in the shape the design describes: a lede,
"Top 10 takeaways", sections with headings, and a first paragraph that repeats the lede.
"""

from __future__ import annotations

from datetime import UTC, datetime
from itertools import cycle, islice

from sqlalchemy.orm import Session

from publisher.models import Post

SENTENCES = {
    "en": [
        "Municipal budgets in frontline regions were rebuilt three times in a single year.",
        "Energy cooperatives in Kharkiv and Kobe share the same lesson: spare parts first.",
        "Donors asked for audited tenders — “security” started with the paper trail.",
        "Rural councils that published their repair plans attracted twice the private capital.",
        "Demining turned farmland back into income faster than any subsidy could.",
        "Japanese partners funded transformers, not press releases, and it showed in winter.",
        "The survey of 1 240 households found trust in local officials rising, not falling.",
        "Procurement reform — «прозорість» in the council minutes — cut delays by a third.",
    ],
    "uk": [
        "Бюджети громад у прифронтових регіонах за один рік переписували тричі.",
        "Енергетичні кооперативи Харкова та Кобе дійшли одного висновку: спершу запчастини.",
        "Донори вимагали прозорих тендерів — «безпека» почалася з паперового сліду.",
        "Сільські ради, що оприлюднили плани відбудови, залучили вдвічі більше капіталу.",
        "Розмінування повертало землю до роботи швидше, ніж будь-яка субсидія.",
        "Японські партнери фінансували трансформатори, а не пресрелізи, і це було видно взимку.",
        "Опитування 1 240 домогосподарств показало, що довіра до місцевої влади зростає.",
        "Реформа закупівель — прозорість у протоколах ради — скоротила затримки на третину.",
    ],
}
HEADINGS = {"en": "Section {n}: what the numbers say", "uk": "Розділ {n}: що кажуть цифри"}
SUMMARY = {
    "en": "How Ukrainian and Japanese cities finance recovery: budgets, energy and trust, "
    "from a survey of 1 240 households and 60 councils.",
    "uk": "Як українські та японські міста фінансують відбудову: бюджети, енергетика та довіра "
    "за опитуванням 1 240 домогосподарств і 60 громад.",
}
TITLE = {
    "en": "Financing Recovery: Cities, Energy and Trust — an analytical report",
    "uk": "Фінансування відбудови: міста, енергетика та довіра — аналітичний звіт",
}


def long_report_body(language: str, words: int) -> str:
    """Markdown of about ``words`` words: the lede repeated first, then headed sections."""
    pool = cycle(SENTENCES[language])
    parts = [SUMMARY[language]]
    count, section = 0, 0
    while count < words:
        if count // 600 >= section:
            section += 1
            parts.append("## " + HEADINGS[language].format(n=section))
        paragraph = " ".join(islice(pool, 5))
        parts.append(paragraph)
        count += len(paragraph.split())
    return "\n\n".join(parts)


def add_long_report(
    session: Session, language: str = "en", *, words: int = 7000, slug: str = "financing-recovery"
) -> Post:
    """A published report of about ``words`` words with ten takeaways."""
    post = Post(
        kind="report",
        language=language,
        title=TITLE[language],
        slug=f"{slug}-{language}",
        summary=SUMMARY[language],
        body=long_report_body(language, words),
        takeaways=[sentence.rstrip(".") for sentence in SENTENCES[language][:6]],
        author="Herald Policy Centre",
        url=f"http://testserver/posts/{slug}-{language}",
        status="published",
        published_at=datetime(2026, 11, 20, 9, 0, tzinfo=UTC),
        topics=["Research"],
    )
    session.add(post)
    session.flush()
    return post
