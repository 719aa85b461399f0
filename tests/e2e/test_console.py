"""The web console end to end: every page with real data (and axe-core on each), the
flows of the seeds (create a topic, produce from the console, find the record by offset,
time and filter, reset a group after a dry run, an incompatible schema refused), and
tenancy (a read-only key sees no write actions, one organization never sees another's)."""

from __future__ import annotations

import datetime
import json
import re
import threading
import time
from pathlib import Path

import httpx
import pytest
from confluent_kafka import Consumer
from playwright.sync_api import expect

from tests.conftest import ServerProcess, free_port
from tests.integration.test_tenancy import ADMIN_SECRET, _org

AVRO_V1 = {"type": "record", "name": "Order", "fields": [{"name": "id", "type": "string"}]}


def rest(server: ServerProcess, headers: dict[str, str] | None = None) -> httpx.Client:
    return httpx.Client(base_url=f"http://127.0.0.1:{server.http_port}", timeout=30,
                        headers={"X-Ack-Mode": "durable", **(headers or {})})


def consume_and_commit(bootstrap: str, topic: str, group: str, want: int) -> None:
    c = Consumer({"bootstrap.servers": bootstrap, "group.id": group,
                  "auto.offset.reset": "earliest", "enable.auto.commit": False})
    c.subscribe([topic])
    got, deadline = 0, time.monotonic() + 30
    while got < want and time.monotonic() < deadline:
        got += sum(1 for m in c.consume(100, 0.5) if m.error() is None)
    assert got == want
    c.commit(asynchronous=False)
    c.close()


def test_every_page_renders_real_data_and_passes_axe(server: ServerProcess, tab_factory) -> None:
    with rest(server) as api:
        assert api.post("/api/v1/topics", json={"name": "orders", "partitions": 3}
                        ).status_code == 201
        records = [{"key": f"k{i}", "value": {"id": i, "total": i * 1.5}, "encoding": "json"}
                   for i in range(20)]
        assert api.post("/api/v1/produce", json={"topic": "orders", "records": records}
                        ).status_code == 200
        assert api.post("/registry/subjects/orders-value/versions",
                        json={"schema": json.dumps(AVRO_V1)}).status_code == 200
    consume_and_commit(server.bootstrap, "orders", "billing", 20)
    tab = tab_factory(f"http://127.0.0.1:{server.http_port}")

    page = tab.open("/")
    expect(page.get_by_test_id("stat-Topics")).to_have_text("1")
    expect(page.get_by_test_id("stat-Messages")).to_have_text("20")
    expect(page.get_by_role("link", name="orders")).to_be_visible()
    expect(page.get_by_text("healthy").first).to_be_visible()
    tab.axe("dashboard")
    tab.shot("dashboard")

    page = tab.open("/topics")
    row = page.get_by_role("row", name=re.compile("orders"))
    expect(row).to_contain_text("20")
    tab.axe("topics")
    tab.shot("topics")

    page = tab.open("/topics/orders")  # a deep link, answered with the console
    expect(page.get_by_test_id("message-row")).to_have_count(20)
    expect(page.get_by_text('"total":28.5')).to_be_visible()
    tab.axe("topic messages")
    tab.shot("topic-messages")
    page.get_by_role("tab", name="partitions").click()
    expect(page.get_by_role("table", name="Partitions").get_by_role("row")).to_have_count(4)
    tab.axe("topic partitions")
    page.get_by_role("tab", name="configs").click()
    expect(page.get_by_role("cell", name="retention.ms", exact=True)).to_be_visible()
    tab.axe("topic configs")
    page.get_by_role("tab", name="consumers").click()
    expect(page.get_by_role("link", name="billing")).to_be_visible()

    page = tab.open("/groups")
    expect(page.get_by_role("row", name=re.compile("billing"))).to_contain_text("Empty")
    tab.axe("groups")
    page = tab.open("/groups/billing")
    expect(page.get_by_role("table", name="Offsets").get_by_role("row")).to_have_count(4)
    tab.axe("group detail")
    tab.shot("group")

    page = tab.open("/schemas/orders-value")
    expect(page.get_by_test_id("schema-text")).to_contain_text('"name": "Order"')
    tab.axe("schemas")
    tab.shot("schemas")

    page = tab.open("/agents")
    expect(page.get_by_role("table", name="Agents")).to_contain_text("healthy")
    expect(page.get_by_text("catalogue")).to_be_visible()
    expect(page.get_by_role("table", name="Object store throttle")).to_contain_text("PUT")
    expect(page.get_by_text("breaker closed")).to_be_visible()
    tab.axe("agents")
    tab.shot("agents")

    for path, heading in (("/produce", "Producer"), ("/organization", "Organization"),
                          ("/sql", "SQL"), ("/no/such/page", "Page not found")):
        page = tab.open(path)
        expect(page.get_by_role("heading", level=1)).to_have_text(heading)
        tab.axe(path)
    tab.open("/produce")
    tab.shot("producer")
    # Dark theme, kept across a reload.
    page = tab.open("/")
    page.get_by_role("button", name="Switch to dark theme").click()
    page.reload()
    expect(page.locator("html")).to_have_class(re.compile("dark"))
    tab.axe("dashboard, dark")
    tab.shot("dashboard-dark")


def test_create_a_topic_produce_and_find_the_record(server: ServerProcess, tab_factory) -> None:
    tab = tab_factory(f"http://127.0.0.1:{server.http_port}")
    page = tab.open("/topics")
    expect(page.get_by_text("No topics yet.")).to_be_visible()
    page.get_by_role("button", name="Create topic").click()
    dialog = page.get_by_role("dialog", name="Create topic")
    dialog.get_by_label("Name").fill("bad name")
    dialog.get_by_role("button", name="Create").click()
    expect(dialog.get_by_test_id("error-message")).to_contain_text("topic name")  # the server's
    dialog.get_by_label("Name").fill("payments")
    dialog.get_by_label("Partitions").fill("2")
    dialog.get_by_label("Retention").select_option(label="1 day")
    dialog.get_by_role("button", name="Create").click()
    expect(page).to_have_url(re.compile(r"/topics/payments$"))
    with rest(server) as api:
        assert api.get("/api/v1/topics/payments").json()["config"] == {"retention.ms": "86400000"}

    page.get_by_role("link", name="Produce", exact=True).click()
    expect(page).to_have_url(re.compile(r"/produce\?topic=payments"))
    form = page.get_by_role("form", name="Produce a record")
    form.get_by_label("Partition", exact=True).select_option("0")
    form.get_by_label("Key", exact=True).fill("k1")
    form.get_by_role("radio", name="JSON").check()
    form.get_by_label("Value", exact=True).fill('{"amount": ')
    expect(form.get_by_role("alert")).to_contain_text("not JSON")  # checked before sending
    form.get_by_label("Value", exact=True).fill('{"amount": 42}')
    form.get_by_role("button", name="Add header").click()
    form.get_by_label("Header 1 name").fill("trace")
    form.get_by_label("Header 1 value").fill("abc")
    form.get_by_label("Value", exact=True).press("Control+Enter")
    expect(page.get_by_test_id("sent-row")).to_have_count(1)
    expect(page.get_by_test_id("sent-row").first).to_contain_text("payments")
    time.sleep(1.2)  # a later second for the search by time
    cut = datetime.datetime.now(datetime.UTC).strftime("%Y-%m-%dT%H:%M:%S")
    form.get_by_label("Header 1 value").fill("def")
    form.get_by_label("Value", exact=True).fill('{"amount": 7}')
    form.get_by_role("button", name="Send").click()
    expect(page.get_by_test_id("sent-row")).to_have_count(2)
    expect(page.get_by_test_id("sent-row").first).to_contain_text("1")  # offset 1 in partition 0

    page = tab.open("/topics/payments")
    rows = page.get_by_test_id("message-row")
    expect(rows).to_have_count(2)
    browse = page.get_by_role("form", name="Browse messages")
    browse.get_by_label("Start at").select_option("offset")
    browse.get_by_label("Offset").fill("1")
    browse.get_by_role("button", name="Search").click()
    expect(rows).to_have_count(1)
    expect(rows.first).to_contain_text('"amount":7')
    browse.get_by_label("Start at").select_option("timestamp")
    browse.get_by_label("Time", exact=True).fill(cut)
    browse.get_by_role("button", name="Search").click()
    expect(rows).to_have_count(1)
    expect(rows.first).to_contain_text('"amount":7')
    browse.get_by_label("Start at").select_option("earliest")
    browse.get_by_label("Header").fill("trace=abc")
    browse.get_by_role("button", name="Search").click()
    expect(rows).to_have_count(1)
    expect(rows.first).to_contain_text('"amount":42')
    browse.get_by_label("Header").fill("")
    browse.get_by_label("Value contains").fill("nothing like this")
    browse.get_by_role("button", name="Search").click()
    expect(page.get_by_text("No records here match.")).to_be_visible()
    browse.get_by_label("Value contains").fill("amount")
    browse.get_by_role("button", name="Search").click()
    expect(rows).to_have_count(2)
    browse.get_by_label("Show values as").select_option("json")
    expect(rows.first).to_contain_text('"amount": 42')  # pretty-printed
    browse.get_by_label("Show values as").select_option("hex")
    expect(rows.first).to_contain_text("7b 22 61 6d")  # {"am


def test_a_group_reset_after_a_dry_run_and_refused_while_it_runs(
    server: ServerProcess, tab_factory
) -> None:
    with rest(server) as api:
        api.post("/api/v1/topics", json={"name": "events", "partitions": 2})
        api.post("/api/v1/produce", json={"topic": "events", "records": [
            {"value": f"e{i}", "partition": i % 2} for i in range(10)]})
    consume_and_commit(server.bootstrap, "events", "readers", 10)
    tab = tab_factory(f"http://127.0.0.1:{server.http_port}")
    page = tab.open("/groups/readers")
    offsets = page.get_by_role("table", name="Offsets")
    expect(offsets).to_contain_text("5")
    page.get_by_role("button", name="Reset offsets").click()
    dialog = page.get_by_role("dialog", name="Reset offsets")
    expect(dialog.get_by_role("button", name="Apply")).to_be_disabled()  # preview first
    dialog.get_by_label("To", exact=True).select_option("earliest")
    dialog.get_by_role("button", name="Preview").click()
    preview = dialog.get_by_test_id("preview-row")
    expect(preview).to_have_count(2)
    expect(preview.first).to_contain_text("events0505")  # topic, partition, now 5, new 0, lag 5
    with rest(server) as api:  # a dry run commits nothing
        lag = api.get("/api/v1/consumer-groups/readers/lag").json()
        assert sorted(r["committed_offset"] for r in lag) == [5, 5]
    dialog.get_by_role("button", name="Apply").click()
    expect(dialog).to_be_hidden()
    with rest(server) as api:
        lag = api.get("/api/v1/consumer-groups/readers/lag").json()
        assert sorted(r["committed_offset"] for r in lag) == [0, 0]
    expect(page.get_by_test_id("stat-Total lag")).to_have_text("10")

    # While a member runs, the server refuses, and the console shows why.
    stop = threading.Event()
    joined = threading.Event()

    def member() -> None:
        c = Consumer({"bootstrap.servers": server.bootstrap, "group.id": "readers",
                      "auto.offset.reset": "earliest"})
        c.subscribe(["events"])
        while not stop.is_set():
            if c.poll(0.2) is not None or c.assignment():
                joined.set()
        c.close()

    t = threading.Thread(target=member, daemon=True)
    t.start()
    try:
        assert joined.wait(30)
        page.reload()
        expect(page.get_by_test_id("stat-State")).to_contain_text("Stable")
        page.get_by_role("button", name="Reset offsets").click()
        dialog = page.get_by_role("dialog", name="Reset offsets")
        dialog.get_by_role("button", name="Preview").click()
        expect(dialog.get_by_test_id("error-message")).to_contain_text("stop its consumers first")
    finally:
        stop.set()
        t.join(30)


def test_an_incompatible_schema_is_refused(server: ServerProcess, tab_factory) -> None:
    with rest(server) as api:
        assert api.post("/registry/subjects/orders-value/versions",
                        json={"schema": json.dumps(AVRO_V1)}).status_code == 200
    tab = tab_factory(f"http://127.0.0.1:{server.http_port}")
    page = tab.open("/schemas")
    page.get_by_role("button", name="orders-value").click()
    page.get_by_role("button", name="New version").click()
    # A new required field without a default: old records cannot be read (BACKWARD).
    v2 = {**AVRO_V1, "fields": [*AVRO_V1["fields"], {"name": "total", "type": "double"}]}
    page.get_by_label("Schema", exact=True).fill(json.dumps(v2, indent=2))
    page.get_by_role("button", name="Register").click()
    verdict = page.get_by_test_id("compatibility")
    expect(verdict).to_contain_text("Not compatible")
    expect(verdict.get_by_role("listitem").first).to_be_visible()  # the registry's reasons
    with rest(server) as api:
        assert api.get("/registry/subjects/orders-value/versions").json() == [1]
    # With a default it is compatible, and registers as version 2; the diff shows the field.
    v2["fields"][1]["default"] = 0.0
    page.get_by_label("Schema", exact=True).fill(json.dumps(v2, indent=2))
    page.get_by_role("button", name="Register").click()
    expect(page.get_by_label("Version", exact=True)).to_contain_text("2 (latest)")
    page.get_by_label("Compare with version").select_option("1")
    expect(page.get_by_label("Diff of version 1 and 2")).to_contain_text('+     "name": "total"')


def test_avro_records_through_the_registry(server: ServerProcess, tab_factory) -> None:
    """A record written by Confluent's Avro serializer is shown decoded; one written from
    the producer console with the subject's schema reads back with Confluent's deserializer."""
    from confluent_kafka import Producer
    from confluent_kafka.schema_registry import SchemaRegistryClient
    from confluent_kafka.schema_registry.avro import AvroDeserializer, AvroSerializer
    from confluent_kafka.serialization import MessageField, SerializationContext

    registry = SchemaRegistryClient({"url": f"http://127.0.0.1:{server.registry_port}"})
    schema = {**AVRO_V1, "fields": [*AVRO_V1["fields"], {"name": "total", "type": "double"}]}
    ser = AvroSerializer(registry, json.dumps(schema))
    with rest(server) as api:
        api.post("/api/v1/topics", json={"name": "orders", "partitions": 1})
    p = Producer({"bootstrap.servers": server.bootstrap})
    p.produce("orders", value=ser({"id": "o-17", "total": 12.5},
                                  SerializationContext("orders", MessageField.VALUE)))
    assert p.flush(10) == 0
    tab = tab_factory(f"http://127.0.0.1:{server.http_port}")
    page = tab.open("/topics/orders")
    rows = page.get_by_test_id("message-row")
    expect(rows).to_have_count(1)
    expect(rows.first).not_to_contain_text("o-17 total")
    page.get_by_role("form", name="Browse messages").get_by_label("Show values as").select_option(
        "registry")
    expect(rows.first.get_by_test_id("schema-badge")).to_contain_text("AVRO · schema")
    expect(rows.first).to_contain_text('"id": "o-17"')
    expect(rows.first).to_contain_text('"total": 12.5')
    tab.axe("decoded messages")
    tab.shot("topic-messages-avro")

    page = tab.open("/produce?topic=orders")
    form = page.get_by_role("form", name="Produce a record")
    form.get_by_role("radio", name="With a registered schema").check()
    expect(form.get_by_label("Subject")).to_have_value("orders-value")  # <topic>-value
    form.get_by_label("Value", exact=True).fill('{"id": "o-18"}')
    form.get_by_role("button", name="Send").click()
    expect(form.get_by_test_id("error-message")).to_contain_text("Avro schema")  # no total
    form.get_by_label("Value", exact=True).fill('{"id": "o-18", "total": 3.0}')
    form.get_by_role("button", name="Send").click()
    expect(page.get_by_test_id("sent-row")).to_have_count(1)
    c = Consumer({"bootstrap.servers": server.bootstrap, "group.id": "avro-check",
                  "auto.offset.reset": "earliest"})
    c.subscribe(["orders"])
    de = AvroDeserializer(registry)
    got, deadline = [], time.monotonic() + 20
    while len(got) < 2 and time.monotonic() < deadline:
        m = c.poll(0.5)
        if m is not None and not m.error():
            got.append(de(m.value(), SerializationContext("orders", MessageField.VALUE)))
    c.close()
    assert got == [{"id": "o-17", "total": 12.5}, {"id": "o-18", "total": 3.0}]


@pytest.fixture
def tenants(server_factory: type[ServerProcess], tmp_path: Path):
    key_file = tmp_path / "admin.key"
    key_file.write_text(ADMIN_SECRET + "\n")
    server = server_factory(tmp_path / "server", extra=[
        "--listeners", f"SASL_PLAINTEXT://127.0.0.1:{free_port()}",
        "--admin-key-file", str(key_file)]).start()
    http = f"http://127.0.0.1:{server.http_port}"
    acme, globex = _org(http, "acme"), _org(http, "globex")
    for org, topic in ((acme, "acme-orders"), (globex, "globex-secret")):
        made = httpx.post(f"{http}/api/v1/topics", json={"name": topic},
                          headers={"Authorization": f"Bearer {org.key}:{org.secret}"})
        assert made.status_code == 201, made.text
    yield server, acme, globex
    server.stop()


def sign_in(tab, credentials: str):
    page = tab.open("/topics")
    expect(page.get_by_role("heading", name="Sign in to StreamHouse")).to_be_visible()
    page.get_by_label("API key").fill(credentials)
    page.get_by_role("button", name="Sign in").click()
    return page


def test_sign_in_scopes_and_organizations(tenants, tab_factory) -> None:
    server, acme, globex = tenants
    base = f"http://127.0.0.1:{server.http_port}"
    tab = tab_factory(base)
    page = sign_in(tab, f"{acme.key}:wrong")
    expect(page.get_by_test_id("error-message")).to_contain_text("credentials")
    tab.axe("sign-in")
    tab.shot("sign-in")

    # A read-only key: acme's topics, no write actions anywhere.
    page.get_by_label("API key").fill(f"{acme.reader_key}:{acme.reader_secret}")
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_role("link", name="acme-orders")).to_be_visible()
    expect(page.get_by_text("globex-secret")).to_have_count(0)
    expect(page.get_by_role("button", name="Create topic")).to_have_count(0)
    expect(page.get_by_role("button", name=re.compile("^Delete"))).to_have_count(0)
    assert acme.reader_secret not in page.url
    page.get_by_role("link", name="acme-orders").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("acme-orders")
    for action in ("Add partitions", "Delete"):
        expect(page.get_by_role("button", name=action)).to_have_count(0)
    expect(page.get_by_role("link", name="Produce", exact=True)).to_have_count(0)
    page = tab.open("/produce")
    expect(page.get_by_text("This key is read-only")).to_be_visible()
    page = tab.open("/topics/globex-secret")  # another organization's: as if it did not exist
    # ... the very words an unknown topic gets.
    expect(page.get_by_test_id("error-message")).to_have_text(
        "topic 'globex-secret' does not exist")
    page = tab.open("/topics/no-such-topic")
    expect(page.get_by_test_id("error-message")).to_have_text(
        "topic 'no-such-topic' does not exist")
    page.get_by_role("button", name="Sign out").click()

    # globex's admin key: its own topic only.
    page = sign_in(tab, f"{globex.key}:{globex.secret}")
    expect(page.get_by_role("link", name="globex-secret")).to_be_visible()
    expect(page.get_by_text("acme-orders")).to_have_count(0)
    expect(page.get_by_test_id("org-name")).to_have_text("globex")
    page.get_by_role("button", name="Sign out").click()

    # The platform admin switches between organizations.
    page = sign_in(tab, ADMIN_SECRET)
    switch = page.get_by_label("Organization")
    expect(switch.locator("option")).to_have_count(3)  # default, acme, globex
    switch.select_option(label="acme")
    page = tab.open("/topics")
    expect(page.get_by_role("link", name="acme-orders")).to_be_visible()
    expect(page.get_by_text("globex-secret")).to_have_count(0)
    page.get_by_label("Organization").select_option(label="globex")
    expect(page.get_by_role("link", name="globex-secret")).to_be_visible()
    expect(page.get_by_text("acme-orders")).to_have_count(0)
    page = tab.open("/organization")
    expect(page.get_by_role("table", name="API keys")).to_contain_text(globex.key)
    # ACLs: added through the console, in force over REST.
    page.get_by_role("button", name="Add ACL").click()
    dialog = page.get_by_role("dialog", name="Add an ACL")
    dialog.get_by_label("Principal").fill(f"User:{globex.reader_key}")
    dialog.get_by_label("Permission").select_option("DENY")
    dialog.get_by_label("Operation").select_option("DESCRIBE")
    dialog.get_by_label("Resource name").fill("globex-")
    dialog.get_by_label("Pattern").select_option("PREFIXED")
    dialog.get_by_role("button", name="Add").click()
    expect(dialog).to_be_hidden()
    expect(page.get_by_role("table", name="ACLs")).to_contain_text("globex-")
    hidden = httpx.get(f"{base}/api/v1/topics", headers={
        "Authorization": f"Bearer {globex.reader_key}:{globex.reader_secret}"}).json()
    assert hidden == []  # DESCRIBE denied on globex-*: the reader lists nothing
    tab.axe("organization")
    tab.shot("organization")
    # A new organization, then in the switcher.
    page.get_by_label("Slug").fill("initech")
    page.get_by_role("button", name="Create", exact=True).click()
    expect(page.get_by_role("status").filter(has_text="Created initech")).to_be_visible()
    page.reload()
    expect(page.get_by_label("Organization").locator("option")).to_have_count(4)


def test_the_console_can_be_turned_off(server_factory: type[ServerProcess], tmp_path) -> None:
    s = server_factory(tmp_path / "off", extra=["--console", "off"]).start()
    with rest(s) as api:
        assert api.get("/").status_code == 404
        assert api.get("/topics/x").status_code == 404
        assert api.get("/api/v1/whoami").status_code == 200
    s.stop()


def test_unknown_api_paths_stay_json_404s_with_the_console_on(server: ServerProcess) -> None:
    with rest(server) as api:
        for path in ("/api/v1/nope", "/registry/nope", "/assets/nope.js"):
            r = api.get(path)
            assert r.status_code == 404 and "json" in r.headers["content-type"], path
        for method in ("POST", "DELETE"):
            assert api.request(method, "/api/v1/nope").status_code == 404
        assert api.get("/api").status_code == 404
        slash = api.get("/api/v1/topics/", follow_redirects=False)
        assert slash.status_code == 307 and slash.headers["location"].endswith("/api/v1/topics")
        deep = api.get("/groups/some-group")
        assert deep.status_code == 200 and "<div id=\"root\">" in deep.text
        assert deep.headers["cache-control"] == "no-cache"
