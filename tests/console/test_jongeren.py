"""The jongere list: search by name and channel address, filters, team isolation, paging, audit, escaping."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select

from data.models import AuditLog, ChannelIdentity, Jongere, utcnow
from tests.console.conftest import ask_for_person, login, make_coach, set_begeleider


async def _jongere(runtime, name: str | None, address: str, *, channel: str = "whatsapp",
                   minutes_ago: int = 0, begeleider_id: int | None = None) -> int:
    """Store a jongere with one channel identity and return their id."""
    async with runtime.db.transaction() as session:
        jongere = Jongere(display_name=name, begeleider_id=begeleider_id)
        session.add(jongere)
        await session.flush()
        session.add(ChannelIdentity(jongere_id=jongere.id, channel=channel, address=address,
                                    last_inbound_at=utcnow() - timedelta(minutes=minutes_ago)))
    return jongere.id


async def test_search_by_name_and_by_channel_address(runtime, client):
    await make_coach(runtime, "bea@example.org")
    sanne = await _jongere(runtime, "Sanne de Vries", "whatsapp:+31612345678")
    tom = await _jongere(runtime, "Tom", "telegram:99887766", channel="telegram")
    await login(client, "bea@example.org")
    page = await client.get("/console/jongeren", params={"zoek": "sANNe"})
    assert page.status_code == 200
    assert f'/console/jongeren/{sanne}"' in page.text and f'/console/jongeren/{tom}"' not in page.text
    page = await client.get("/console/jongeren", params={"zoek": "12345678"})
    assert f'/console/jongeren/{sanne}"' in page.text and f'/console/jongeren/{tom}"' not in page.text
    page = await client.get("/console/jongeren", params={"zoek": "9988"})
    assert f'/console/jongeren/{tom}"' in page.text and f'/console/jongeren/{sanne}"' not in page.text
    page = await client.get("/console/jongeren", params={"zoek": "%"})  # a LIKE wildcard is plain text
    assert "Geen jongeren gevonden" in page.text


async def test_search_is_audited_without_the_search_text(runtime, client):
    await make_coach(runtime, "bea@example.org")
    await _jongere(runtime, "Sanne", "whatsapp:+31612345678")
    await login(client, "bea@example.org")
    await client.get("/console/jongeren", params={"zoek": "0612345678", "open": "nee"})
    async with runtime.db.session() as session:
        entry = (await session.execute(select(AuditLog).where(AuditLog.action == "jongeren_searched"))
                 ).scalar_one()
    assert entry.detail["search_length"] == 10 and entry.detail["open_ticket"] == "nee"
    assert "0612345678" not in repr(entry.detail) and "0612345678" not in entry.subject_id


async def test_begeleider_of_another_team_never_sees_team_1(runtime, client):
    await make_coach(runtime, "bea@example.org", team="team-1")
    other = await make_coach(runtime, "olaf@example.org", team="team-2")
    own = await _jongere(runtime, "Karin Tweede", "whatsapp:+31600000002", begeleider_id=other.id)
    team1 = await _jongere(runtime, "Karin Eerste", "whatsapp:+31600000001")
    await login(client, "olaf@example.org")
    for params in ({}, {"zoek": "Karin"}, {"team": "team-1"}, {"zoek": "+316"}):
        page = await client.get("/console/jongeren", params=params)
        assert page.status_code == 200
        assert f'/console/jongeren/{own}"' in page.text and f'/console/jongeren/{team1}"' not in page.text
        assert "Karin Eerste" not in page.text
    assert 'id="team"' not in page.text  # a begeleider has no team filter


async def test_beheerder_filters_by_team_begeleider_and_open_ticket(runtime, client):
    await make_coach(runtime, "beheer@example.org", role="beheerder")
    olaf = await make_coach(runtime, "olaf@example.org", team="team-2")
    waiting = await ask_for_person(runtime, "test:j-open")
    quiet = await _jongere(runtime, "Stil", "whatsapp:+31600000003")
    team2 = await _jongere(runtime, "Tweede", "whatsapp:+31600000004", begeleider_id=olaf.id)
    await login(client, "beheer@example.org")
    page = await client.get("/console/jongeren", params={"team": "team-2"})
    assert f'/console/jongeren/{team2}"' in page.text and f'/console/jongeren/{quiet}"' not in page.text
    page = await client.get("/console/jongeren", params={"begeleider": str(olaf.id)})
    assert f'/console/jongeren/{team2}"' in page.text and f'/console/jongeren/{quiet}"' not in page.text
    page = await client.get("/console/jongeren", params={"open": "ja"})
    assert f'/console/jongeren/{waiting.jongere_id}"' in page.text and f'/console/jongeren/{quiet}"' not in page.text
    page = await client.get("/console/jongeren", params={"open": "nee"})
    assert f'/console/jongeren/{waiting.jongere_id}"' not in page.text and f'/console/jongeren/{quiet}"' in page.text


async def test_pagination_newest_contact_first(runtime, client):
    await make_coach(runtime, "bea@example.org")
    ids = [await _jongere(runtime, f"Jongere nr {i:02d}", f"whatsapp:+3160000{i:04d}", minutes_ago=i)
           for i in range(55)]
    await login(client, "bea@example.org")
    first = await client.get("/console/jongeren")
    assert "55 jongeren gevonden" in first.text and "Pagina 1 van 2" in first.text
    assert first.text.count('<a href="/console/jongeren/') == 50
    assert first.text.index(f'/console/jongeren/{ids[0]}"') < first.text.index(f'/console/jongeren/{ids[1]}"')
    assert f'/console/jongeren/{ids[54]}"' not in first.text and "pagina=2" in first.text
    second = await client.get("/console/jongeren", params={"pagina": "2"})
    assert second.text.count('<a href="/console/jongeren/') == 5
    assert f'/console/jongeren/{ids[54]}"' in second.text and f'/console/jongeren/{ids[0]}"' not in second.text


async def test_redacteur_gets_403_and_no_nav_item(runtime, client):
    await make_coach(runtime, "red@example.org", role="redacteur")
    await login(client, "red@example.org")
    page = await client.get("/console/jongeren")
    assert page.status_code == 403
    assert 'href="/console/jongeren"' not in (await client.get("/console/inhoud")).text


async def test_names_are_escaped_and_nav_shows_jongeren(runtime, client):
    coach = await make_coach(runtime, "bea@example.org")
    jid = await _jongere(runtime, "<script>alert(1)</script>", "whatsapp:+31600000009")
    await set_begeleider(runtime, jid, coach.id)
    await login(client, "bea@example.org")
    page = await client.get("/console/jongeren", params={"zoek": "<script>"})
    assert "<script>alert(1)</script>" not in page.text and "&lt;script&gt;alert(1)&lt;/script&gt;" in page.text
    assert 'href="/console/jongeren" aria-current="page"' in page.text
