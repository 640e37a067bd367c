#!/usr/bin/python3
"""ctest driver for the incident console in a real browser (tests/CMakeLists.txt:
e2e_console_browser): starts this build's failover_actuator on 127.0.0.1:0 with basic-auth
users (an operator, a viewer) and two runbooks, then drives headless Chromium (Debian's
chromium, chromium-driver and python3-selenium) through what on-call does:

  1. anonymous gets nothing (401, no runbook named);
  2. logs in as the operator; a webhook makes a pending approval; the overview lists it
     first; its page shows the plan; Approve, the confirmation names the consequence,
     Confirm; the page refreshes itself to `succeeded` and the step really ran;
  3. a second approval is rejected with a reason (state rejected, the user recorded);
  4. hold: an alert while on hold is `held` (and failover_actuator_automation_held is 1);
     resume: the next alert runs;
  5. another site's page posting a form to the console (from the same browser, with the
     operator's credentials) is refused and changes nothing;
  6. the viewer sees the pages but no action, and cannot act;
  7. a runbook by hand: a dry-run preview of the plan, then run.
While the approved execution runs, the page is scrolled down: it refreshes itself in place
and the scroll position stays. Prints "console-test: PASS" or "console-test: FAILED: ..."."""
import argparse
import base64
import warnings
import http.server
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.request

with warnings.catch_warnings():
    warnings.simplefilter("ignore", DeprecationWarning)
    import crypt  # bcrypt hashes for basic_auth_users (libcrypt)

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
ap = argparse.ArgumentParser()
ap.add_argument("--build-dir", required=True)
a = ap.parse_args()

from selenium import webdriver  # noqa: E402  (python3-selenium)
from selenium.webdriver.chrome.service import Service as ChromeService  # noqa: E402
from selenium.webdriver.common.by import By  # noqa: E402
from selenium.webdriver.support.ui import WebDriverWait  # noqa: E402

USERS = {"alice": ("operator", "alice-pw-1"), "victor": ("viewer", "victor-pw-2"),
         "alertmanager": (None, "am-pw-3")}
failures = []


def check(cond, what):
    if not cond:
        failures.append(what)
        print("console-test: check failed: " + what, flush=True)
    return cond


def basic(user):
    return "Basic " + base64.b64encode(f"{user}:{USERS[user][1]}".encode()).decode()


def call(base, method, path, user=None, body=None, headers=None):
    h = dict(headers or {})
    if user:
        h["Authorization"] = basic(user)
    data = None
    if body is not None:
        data = json.dumps(body).encode()
        h["Content-Type"] = "application/json"
    req = urllib.request.Request(base + path, data=data, method=method, headers=h)
    try:
        with urllib.request.urlopen(req, timeout=10) as r:
            return r.status, r.read().decode()
    except urllib.error.HTTPError as e:
        return e.code, e.read().decode()


def webhook(base, alertname, region, starts):
    alert = {"status": "firing", "labels": {"alertname": alertname, "region": region},
             "annotations": {"summary": f"{region} is down"}, "startsAt": starts,
             "endsAt": "0001-01-01T00:00:00Z", "generatorURL": "http://prometheus/graph",
             "fingerprint": format(abs(hash((alertname, region, starts))) % (1 << 60), "016x")}
    body = {"version": "4", "groupKey": "{}:{alertname=\"%s\"}" % alertname, "truncatedAlerts": 0,
            "status": "firing", "receiver": "failover", "groupLabels": {"alertname": alertname},
            "commonLabels": alert["labels"], "commonAnnotations": {}, "externalURL": "http://am",
            "alerts": [alert]}
    status, text = call(base, "POST", "/webhook", "alertmanager", body)
    if status != 202:
        raise RuntimeError(f"webhook answered {status}: {text}")
    return json.loads(text)["executions"]


def wait_for(what, cond, limit=30):
    deadline = time.time() + limit
    while time.time() < deadline:
        v = cond()
        if v:
            return v
        time.sleep(0.2)
    raise RuntimeError("timed out waiting for " + what)


def main(tmp):
    web = os.path.join(tmp, "web.yml")
    with open(web, "w") as f:
        f.write("basic_auth_users:\n")
        for user, (_, pw) in USERS.items():
            f.write(f"  {user}: '{crypt.crypt(pw, crypt.mksalt(crypt.METHOD_BLOWFISH, rounds=16))}'\n")
    marker = os.path.join(tmp, "failed-over")
    # Prometheus is down: a port nothing listens on (bound, then closed).
    import socket
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        closed_port = sock.getsockname()[1]
    cfg = os.path.join(tmp, "actuator.yml")
    with open(cfg, "w") as f:
        f.write(f"""journal: {tmp}/journal.db
external_url: http://console.invalid
prometheus: {{url: "http://127.0.0.1:{closed_port}", timeout: 1s}}
brake: {{max_executions: 100, window: 1h}}
console:
  users: {{alice: operator, victor: viewer}}
runbooks:
  - name: failover-us-east
    match: {{alertname: RegionDown, region: us-east}}
    mode: approve
    cooldown: 0s
    steps:
      - exec: {{argv: ["/bin/sh", "-c", "echo {{{{labels.region}}}} >> {marker}"]}}
      - wait: {{duration: 1s}}
  - name: page-degraded
    match: {{alertname: RegionDegraded}}
    cooldown: 0s
    steps:
      - exec: {{argv: ["/bin/sh", "-c", "echo degraded >> {marker}.auto"]}}
""")
    binary = os.path.join(a.build_dir, "bin", "failover_actuator")
    log = open(os.path.join(tmp, "actuator.log"), "w+")
    proc = subprocess.Popen([binary, "--config.file=" + cfg, "--web.config.file=" + web,
                             "--web.listen-address=127.0.0.1:0"], stdout=log, stderr=log)
    driver = None
    evil = None
    try:
        def port():
            log.seek(0)
            m = re.search(r"msg=listening address=127\.0\.0\.1:([0-9]+)", log.read())
            if proc.poll() is not None:
                raise RuntimeError("failover_actuator exited: " + open(log.name).read())
            return m and int(m.group(1))
        base = f"http://127.0.0.1:{wait_for('the actuator to listen', port)}"

        # 1. Anonymous users see nothing; an unlisted user (the webhook's) neither.
        status, text = call(base, "GET", "/")
        check(status == 401 and "failover-us-east" not in text, f"anonymous GET / gave {status}")
        status, _ = call(base, "GET", "/", "alertmanager")
        check(status == 401, f"a user not in console.users got {status}")

        opts = webdriver.ChromeOptions()
        for o in ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                  "--window-size=1400,1000"):
            opts.add_argument(o)
        if shutil.which("chromium"):
            opts.binary_location = shutil.which("chromium")
        # Chromium's own temporary files go into the test's directory, removed at the end.
        service = ChromeService(executable_path=shutil.which("chromedriver"),
                                env=dict(os.environ, TMPDIR=tmp))
        driver = webdriver.Chrome(options=opts, service=service)
        driver.set_page_load_timeout(30)
        wait = WebDriverWait(driver, 30)

        def login(user):
            # What the browser's basic-auth prompt does, on every request of the session.
            driver.execute_cdp_cmd("Network.enable", {})
            driver.execute_cdp_cmd("Network.setExtraHTTPHeaders",
                                   {"headers": {"Authorization": basic(user)}})

        def text(css):
            return driver.find_element(By.CSS_SELECTOR, css).text

        def click(css):
            driver.find_element(By.CSS_SELECTOR, css).click()

        # 2. Approve.
        login("alice")
        [first] = webhook(base, "RegionDown", "us-east", "2026-12-06T10:00:00Z")
        driver.get(base + "/")
        wait.until(lambda d: d.find_elements(By.CSS_SELECTOR, f'#pending tr[data-id="{first}"]'))
        check("alice (operator)" in text("#user"), "the header names the user")
        check("Prometheus unreachable" in text("#regions"), "regions: " + text("#regions"))
        h2 = [e.text for e in driver.find_elements(By.TAG_NAME, "h2")]
        check(h2.index("Pending approvals") < h2.index("Recent executions"), "pending approvals come first")
        driver.find_element(By.CSS_SELECTOR, f'#pending tr[data-id="{first}"] a').click()
        wait.until(lambda d: d.find_elements(By.ID, "steps"))
        steps = driver.find_elements(By.CSS_SELECTOR, "#steps tr.step")
        check(len(steps) == 2 and "exec" in steps[0].text and "us-east" in steps[0].text,
              "the execution page shows the rendered plan: " + " | ".join(s.text for s in steps))
        check("failover/" + first in text("#dedup") if driver.find_elements(By.ID, "dedup") else True,
              "dedup key shown")
        check("alertname" in text("#labels") and "RegionDown" in text("#labels"), "trigger labels shown")
        click("#approve")
        wait.until(lambda d: d.find_elements(By.ID, "consequence"))
        consequence = text("#consequence")
        check(consequence.startswith("Approve: runs exec, runs wait"), "consequence: " + consequence)
        check(not os.path.exists(marker), "nothing ran before the confirmation")
        click("#confirm")
        # The page refreshes itself (no reload here) until the execution succeeded, and the
        # reader's scroll position stays where it was.
        wait.until(lambda d: d.find_elements(By.CSS_SELECTOR, '#state[data-state="running"], '
                                                              '#state[data-state="succeeded"]'))
        refreshed = text("#refreshed")
        driver.execute_script("window.scrollTo(0, document.body.scrollHeight)")
        scrolled = driver.execute_script("return window.scrollY")
        check(scrolled > 100, f"the execution page is long enough to scroll ({scrolled})")
        WebDriverWait(driver, 30).until(
            lambda d: d.find_elements(By.CSS_SELECTOR, '#state[data-state="succeeded"]')
            and text("#refreshed") != refreshed)
        after = driver.execute_script("return window.scrollY")
        check(abs(after - scrolled) <= 2, f"the refresh kept the scroll position ({scrolled} -> {after})")
        check(driver.current_url.endswith("/executions/" + first), "stayed on the execution page")
        check(open(marker).read() == "us-east\n", "the step ran once")
        check("approved by alice" in text("#timeline"), "the timeline names the approver")

        # 3. Reject with a reason.
        [second] = webhook(base, "RegionDown", "us-east", "2026-12-06T11:00:00Z")
        driver.get(base + "/executions/" + second)
        wait.until(lambda d: d.find_elements(By.ID, "reject"))
        click("#reject")
        wait.until(lambda d: d.find_elements(By.ID, "reason"))
        driver.find_element(By.ID, "reason").send_keys("eu-west is degraded too")
        click("#confirm")
        wait.until(lambda d: d.find_elements(By.CSS_SELECTOR, '#state[data-state="rejected"]'))
        check("rejected by alice: eu-west is degraded too" in text("#state"), "rejection: " + text("#state"))
        check(open(marker).read() == "us-east\n", "a rejected execution ran nothing")

        # 4. Hold, an alert while held, resume.
        driver.get(base + "/")
        click("#hold")
        wait.until(lambda d: d.find_elements(By.ID, "reason"))
        check("no execution an alert triggers starts" in text("#consequence"), "hold consequence")
        driver.find_element(By.ID, "reason").send_keys("database maintenance")
        click("#confirm")
        wait.until(lambda d: d.find_elements(By.CSS_SELECTOR, '#automation[data-state="held"]'))
        check("alice" in text("#automation") and "database maintenance" in text("#automation"),
              "hold banner: " + text("#automation"))
        [held] = webhook(base, "RegionDegraded", "eu-west", "2026-12-06T12:00:00Z")
        wait_for("the alert to be held", lambda: json.loads(
            call(base, "GET", "/api/v1/executions/" + held, "alice")[1])["state"] == "held")
        _, metrics = call(base, "GET", "/metrics", "alertmanager")
        check("failover_actuator_automation_held 1" in metrics, "held gauge is 1")
        check(not os.path.exists(marker + ".auto"), "nothing ran while held")
        # The overview refreshes itself: the held execution shows up without a reload.
        wait.until(lambda d: d.find_elements(By.CSS_SELECTOR, f'#recent tr[data-id="{held}"][data-state="held"]'))

        # 5. Another site's page posts a form to the console, from this browser.
        class Evil(http.server.BaseHTTPRequestHandler):
            def do_GET(self):
                page = (f'<form id="f" method="post" action="{base}/resume">'
                        '<input name="reason" value="pwned"></form>'
                        '<script>document.getElementById("f").submit()</script>').encode()
                self.send_response(200)
                self.send_header("Content-Type", "text/html")
                self.send_header("Content-Length", str(len(page)))
                self.end_headers()
                self.wfile.write(page)

            def log_message(self, *args):
                pass
        evil = http.server.HTTPServer(("127.0.0.2", 0), Evil)
        threading.Thread(target=evil.serve_forever, daemon=True).start()
        driver.get(f"http://127.0.0.2:{evil.server_address[1]}/")
        wait.until(lambda d: d.current_url.startswith(base))
        body = driver.find_element(By.TAG_NAME, "body").text
        check("403" in body or "cross-site" in body.lower(), "cross-site post refused: " + body[:200])
        hold = json.loads(call(base, "GET", "/api/v1/hold", "alice")[1])
        check(hold["held"] is True, "the cross-site post changed nothing")

        # 6. The viewer reads but cannot act.
        login("victor")
        driver.get(base + "/")
        wait.until(lambda d: d.find_elements(By.ID, "automation"))
        check("victor (viewer)" in text("#user"), "viewer named")
        check(not driver.find_elements(By.ID, "resume"), "no resume button for a viewer")
        status, _ = call(base, "DELETE", "/api/v1/hold", "victor")
        check(status == 403, f"a viewer's resume got {status}")

        login("alice")
        driver.get(base + "/")
        click("#resume")
        wait.until(lambda d: d.find_elements(By.ID, "confirm"))
        click("#confirm")
        wait.until(lambda d: d.find_elements(By.CSS_SELECTOR, '#automation[data-state="running"]'))
        [after] = webhook(base, "RegionDegraded", "eu-west", "2026-12-06T13:00:00Z")
        wait_for("the alert after the resume to run", lambda: json.loads(
            call(base, "GET", "/api/v1/executions/" + after, "alice")[1])["state"] == "succeeded")
        check(open(marker + ".auto").read() == "degraded\n", "the alert after the resume ran")
        _, metrics = call(base, "GET", "/metrics", "alertmanager")
        check("failover_actuator_automation_held 0" in metrics, "held gauge back to 0")

        # 7. A runbook by hand: labels, a dry-run preview of the plan, then run.
        driver.get(base + "/runbooks/failover-us-east/run")
        driver.find_element(By.ID, "labels").send_keys("region=eu-west")
        click("#preview")
        wait.until(lambda d: d.find_elements(By.ID, "consequence"))
        check(text("#consequence") == "Run failover-us-east: runs exec, runs wait",
              "preview: " + text("#consequence"))
        check("echo eu-west" in driver.find_element(By.CSS_SELECTOR, "table.plan").text,
              "the preview renders the labels into the plan")
        check(open(marker).read() == "us-east\n", "the preview ran nothing")
        click("#confirm")
        WebDriverWait(driver, 30).until(
            lambda d: d.find_elements(By.CSS_SELECTOR, '#state[data-state="succeeded"]'))
        check(open(marker).read() == "us-east\neu-west\n", "the run by hand ran")
        check("alice" in text("#summary"), "the run by hand names who asked")
        status, text_ = call(base, "GET", "/executions/" + first, "alice")
        check(status == 200 and "am-pw-3" not in text_ and "alice-pw-1" not in text_, "no secret on pages")
    finally:
        if evil:
            evil.shutdown()
        if driver:
            driver.quit()
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            proc.kill()
        if failures:
            log.seek(0)
            print(log.read()[-4000:])


try:
    with tempfile.TemporaryDirectory(prefix="console-test-") as tmp:
        main(tmp)
except Exception as e:  # noqa: BLE001 - reported as the test's failure
    failures.append(f"{type(e).__name__}: {e}")
if failures:
    print("console-test: FAILED: " + "; ".join(failures))
    sys.exit(1)
print("console-test: PASS")
