#!/usr/bin/env python3
"""The posture overview in a real browser: Debian's chromium, headless, driven by chromedriver
through Selenium (installed by tests/run.sh).

It starts `posture-exporter demo` (the simulated organization, every collector), waits for
/ready, then in the browser:

1. loads `/`, takes a screenshot into the test's output (target/test-output/overview.png, and
   overview-phone.png at a phone's width), and checks the page has no external asset and no
   framework (no <script src>, no link to another host);
2. reads every count on the page and checks it equals what /metrics says at the same moment:
   the same count computed from the exposition (parsed by the Python prometheus_client
   package), /metrics read before and after the page and equal, or the round is retried;
3. follows a count's link (the failed member deployments) and checks the list it opens has as
   many rows as the count, with the account names discovery knows;
   then checks the exceptions section: one row per exception /metrics exports, overdue marked
   where the review date has passed, covered items marked excepted;
4. applies a filter to the job table (one account) and checks the rows shown are that
   account's jobs, as many as /metrics has `posture_exporter_collector_up` series for it.

Exit status 0 when every check passed, 1 otherwise, 2 when a tool is missing.
"""

import os
import subprocess
import sys
import time
import urllib.request

from prometheus_client.parser import text_string_to_metric_families

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
BIN = os.environ.get("POSTURE_EXPORTER_BIN", os.path.join(ROOT, "target", "debug", "posture-exporter"))
OUT = os.environ.get("POSTURE_TEST_OUTPUT", os.path.join(ROOT, "target", "test-output"))


def fetch(url):
    with urllib.request.urlopen(url, timeout=10) as r:
        return r.status, r.read().decode("utf-8")


def samples(text):
    out = []
    for fam in text_string_to_metric_families(text):
        for s in fam.samples:
            out.append((s.name, s.labels, s.value))
    return out


def counts(text):
    """The overview's counts, as PromQL over /metrics would count them."""
    ss = samples(text)

    def count(name, pred):
        return sum(1 for n, l, v in ss if n == name and pred(l, v))

    failed = lambda l, v: v == 1 and l.get("status", "").endswith("_FAILED")
    findings = {}
    for n, l, v in ss:
        if n == "aws_guardduty_findings" and l.get("severity") in ("high", "critical"):
            k = (l["account_id"], l["region"])
            findings[k] = findings.get(k, 0) + v
    return {
        "failed_deployments": count("aws_config_org_rule_member_status", failed)
        + count("aws_config_org_conformance_pack_member_status", failed),
        "noncompliant": count("aws_config_rule_noncompliant_resources", lambda l, v: True)
        + count("aws_config_conformance_pack_noncompliant_rules", lambda l, v: v > 0),
        "findings": sum(1 for v in findings.values() if v > 0),
        "overdue": len({(l["account_id"], l["region"]) for n, l, v in ss if n == "aws_guardduty_findings_overdue" and v > 0}),
        "recorders": count("aws_config_recorders", lambda l, v: v == 0 and l.get("kind") == "customer_managed")
        + count("aws_config_recorder_recording", lambda l, v: v == 0)
        + count("aws_config_recorder_last_status", lambda l, v: v == 1 and l.get("status") == "Failure"),
        "config_flow": count("aws_config_delivery_failing", lambda l, v: v == 1)
        + count("aws_config_rule_evaluation_failing", lambda l, v: v == 1)
        + count("aws_config_recorder_partial", lambda l, v: v == 1),
        "guardduty": count("aws_guardduty_detectors", lambda l, v: v == 0)
        + count("aws_guardduty_detector_enabled", lambda l, v: v == 0)
        + count("aws_guardduty_org_account_not_covered", lambda l, v: v == 1),
        "plans": count("aws_guardduty_feature_status", lambda l, v: v == 1 and l.get("status") == "DISABLED"),
        "securityhub": count("aws_securityhub_failed_controls", lambda l, v: v > 0)
        + count("aws_securityhub_findings", lambda l, v: v > 0 and l.get("severity") == "CRITICAL")
        + count("aws_securityhub_enabled", lambda l, v: v == 0)
        + count("aws_securityhub_standard_status", lambda l, v: v == 1 and l.get("status") in ("FAILED", "INCOMPLETE"))
        + count("aws_securityhub_policy_association_failed", lambda l, v: v == 1),
        "regions": count("aws_account_region_unwatched", lambda l, v: v == 1),
        "collectors": count("posture_exporter_collector_up", lambda l, v: v == 0),
    }


class Checks:
    def __init__(self):
        self.passed, self.failed = 0, 0

    def check(self, what, ok, detail=""):
        if ok:
            self.passed += 1
            print(f"ok   {what}")
        else:
            self.failed += 1
            print(f"FAIL {what}: {detail}")


def main():
    try:
        from selenium import webdriver
        from selenium.webdriver.chrome.options import Options
        from selenium.webdriver.chrome.service import Service
        from selenium.webdriver.common.by import By
        from selenium.webdriver.support import expected_conditions as EC
        from selenium.webdriver.support.ui import WebDriverWait
    except ImportError as e:
        print(f"selenium missing: {e}")
        return 2
    driver_path = next((p for p in ("/usr/bin/chromedriver", "/usr/lib/chromium/chromedriver") if os.path.exists(p)), None)
    if driver_path is None or not os.path.exists(BIN):
        print(f"chromedriver ({driver_path}) or the exporter ({BIN}) missing")
        return 2
    os.makedirs(OUT, exist_ok=True)
    demo = subprocess.Popen([BIN, "demo", "--listen", "127.0.0.1:0", "--interval", "1h"],
                            stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    c = Checks()
    driver = None
    try:
        base = None
        for line in demo.stdout:
            if line.startswith("metrics:"):
                base = line.split(":", 1)[1].strip().rsplit("/metrics", 1)[0]
                break
        if base is None:
            print("the demo printed no metrics URL")
            return 1
        deadline = time.monotonic() + 120
        while True:
            try:
                if fetch(base + "/ready")[0] == 200:
                    break
            except Exception:
                pass
            if time.monotonic() > deadline:
                print("the demo was not ready within 120 s")
                return 1
            time.sleep(0.5)

        opts = Options()
        for a in ("--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                  "--disable-dev-shm-usage", "--window-size=1280,1800"):
            opts.add_argument(a)
        opts.binary_location = "/usr/bin/chromium"
        driver = webdriver.Chrome(service=Service(driver_path), options=opts)
        driver.set_page_load_timeout(30)

        # 1. The page, a screenshot, no external assets.
        shown, want = None, None
        for _ in range(10):
            before = fetch(base + "/metrics")[1]
            driver.get(base + "/")
            shown = {e.get_attribute("id")[len("count-"):]: int(e.find_element(By.CLASS_NAME, "n").text)
                     for e in driver.find_elements(By.CSS_SELECTOR, "a.card")}
            after = fetch(base + "/metrics")[1]
            if counts(before) == counts(after):
                want = counts(after)
                break
            time.sleep(1)
        driver.save_screenshot(os.path.join(OUT, "overview.png"))
        print(f"screenshot: {os.path.join(OUT, 'overview.png')}")
        c.check("the page says what needs attention first", driver.find_element(By.TAG_NAME, "h1").text.endswith("what needs attention"))
        html = driver.page_source
        c.check("no script and no external asset",
                "<script" not in html and "http://" not in html.replace(base, "") and "https://" not in html,
                html[:300])
        _, raw = fetch(base + "/")
        c.check("the page is under 500 KB", len(raw.encode()) < 500_000, f"{len(raw)} bytes")

        # 2. Every count equals /metrics at the same moment.
        c.check("/metrics was stable across a page load", want is not None)
        c.check("the page shows every section's count", shown is not None and set(shown) == set(want or {}), f"{shown} vs {want}")
        for k, v in (want or {}).items():
            c.check(f"count {k} = {v} as /metrics says", shown.get(k) == v, f"page {shown.get(k)}")
        c.check("the demo has failed deployments, non-compliance, findings and recorder trouble to show",
                all((want or {}).get(k, 0) > 0 for k in ("failed_deployments", "noncompliant", "findings", "recorders")), f"{want}")

        # 3a. The exceptions, apart from what needs attention: one row per exception /metrics
        #     has a review date for, overdue marked where that date has passed, and the items an
        #     exception covers marked with its name.
        reviews = {l["exception"]: v for name, l, v in samples(fetch(base + "/metrics")[1])
                   if name == "posture_exporter_exception_review_timestamp_seconds"}
        rows = driver.find_elements(By.CSS_SELECTOR, "#exception-table tr.exception")
        names = [r.find_elements(By.TAG_NAME, "td")[0].text for r in rows]
        c.check(f"the exceptions section lists the {len(reviews)} exceptions /metrics exports",
                bool(reviews) and sorted(names) == sorted(reviews), f"page {names}, metrics {sorted(reviews)}")
        overdue = {k for k, v in reviews.items() if v < time.time()}
        marked = {r.find_elements(By.TAG_NAME, "td")[0].text for r in rows
                  if "overdue" in (r.get_attribute("class") or "").split()}
        c.check(f"exceptions past their review date are marked overdue ({sorted(overdue)})",
                bool(overdue) and marked == overdue, f"marked {sorted(marked)}")
        excepted = driver.find_elements(By.CSS_SELECTOR, "tr.item.excepted")
        c.check("items an exception covers are marked excepted with its name",
                bool(excepted) and all(any(f"excepted: {n}" in e.text for n in reviews) for e in excepted),
                [e.text for e in excepted][:3])

        # 3. Follow a count's link.
        page = driver.find_element(By.TAG_NAME, "h1")
        driver.find_element(By.ID, "count-failed_deployments").click()
        # A click starts a navigation; read the new page, not the one it replaces.
        WebDriverWait(driver, 10).until(EC.staleness_of(page))
        c.check("the count links to its list", "section=failed_deployments" in driver.current_url, driver.current_url)
        rows = driver.find_elements(By.CSS_SELECTOR, "tr.item")
        n = (want or {}).get("failed_deployments", -1)
        c.check(f"the list has the count's {n} rows", len(rows) == min(n, 50), f"{len(rows)} rows")
        c.check("rows name the account by name and id",
                rows and all("member-" in r.text or "management" in r.text for r in rows),
                rows[0].text if rows else "")
        c.check("rows carry AWS's error code", rows and all("Exception" in r.text for r in rows), rows[0].text if rows else "")

        # 4. Apply a filter: one account's jobs.
        driver.get(base + "/")
        up = [l for name, l, v in samples(fetch(base + "/metrics")[1]) if name == "posture_exporter_collector_up"]
        account = sorted({l["account_id"] for l in up})[1]
        box = driver.find_element(By.NAME, "account")
        box.clear()
        box.send_keys(account)
        driver.find_element(By.CSS_SELECTOR, "form button[type=submit]").click()
        WebDriverWait(driver, 10).until(EC.staleness_of(box))
        jobs = driver.find_elements(By.CSS_SELECTOR, "tr.job")
        expect = sum(1 for l in up if l["account_id"] == account)
        c.check(f"the filter shows account {account}'s {expect} jobs", len(jobs) == expect and expect > 0, f"{len(jobs)} rows")
        c.check("every row shown is that account's", all(account in j.text for j in jobs))
        c.check("the filter is in the URL (shareable)", f"account={account}" in driver.current_url, driver.current_url)

        # At a phone's width the page still reads (a second screenshot).
        driver.set_window_size(390, 1600)
        driver.get(base + "/")
        driver.save_screenshot(os.path.join(OUT, "overview-phone.png"))
        width = driver.execute_script("return document.documentElement.scrollWidth")
        c.check("no horizontal scroll of the page at 390 px (tables scroll inside)", width <= 400, f"{width}px")
    finally:
        if driver is not None:
            driver.quit()
        demo.terminate()
        try:
            demo.wait(10)
        except subprocess.TimeoutExpired:
            demo.kill()
    print(f"browser: {c.passed} passed, {c.failed} failed")
    return 1 if c.failed else 0


if __name__ == "__main__":
    sys.exit(main())
