"""An agent's visit in a real browser: headless Chromium driven by selenium.

The hub is served over HTTP on 127.0.0.1 (``tests/support/live_server.py``) on its own
SQLite file, as in ``tests/test_http.py``. What only a browser shows is covered here: the
session cookie and the CSRF token as a browser keeps and sends them, the forms as they
render, the redirects followed. Skipped when Chromium is not installed.
"""

import os
import shutil

import pytest

from gru.auth.agents import create_agent
from gru.auth.contracts import full_access_document
from gru.consent.services import declare_purpose
from gru.extensions import db
from gru.identity.search import duplicates
from gru.identity.services.context import Actor, make_provenance
from gru.identity.services.parties import create_party
from tests.conftest import build_app, make_instance
from tests.factories.auth import make_application
from tests.support.live_server import LiveServer

CHROMIUM = "/usr/bin/chromium"
CHROMEDRIVER = "/usr/bin/chromedriver"
PASSWORD = "correct horse battery staple"

pytestmark = pytest.mark.skipif(
    not (os.path.exists(CHROMIUM) and os.path.exists(CHROMEDRIVER)),
    reason="Chromium is not installed: run scripts/install-browser.sh",
)


@pytest.fixture(scope="module")
def hub(tmp_path_factory):
    instance = make_instance(tmp_path_factory)
    with LiveServer() as server:
        app = build_app(instance, f"sqlite:///{instance}/gru.sqlite3", GRU_BASE_URL=server.url)
        with app.app_context():
            catalogue = app.extensions["gru.catalogue"]
            make_application("desk", contract=full_access_document(catalogue, purposes=["accueil"]))
            create_agent("marie", "Marie Dupont", "agent", password=PASSWORD)
            create_agent("paul", "Paul Gope", "supervisor", password=PASSWORD)
            declare_purpose({"code": "sms_reminders", "label": "Rappels de rendez-vous par SMS",
                             "lawful_basis": "consent", "data_categories": ["mobile_phone"],
                             "retention_days": 365}, author="tests")
            create_party(
                "person",
                {"family_name": "Wamytan", "given_names": "Élise Marie", "birth_date": "1987-03-14", "sex": "F",
                 "postal_address": {"lines": ["12 rue Jean Jaurès"], "postal_code": "98800"}},
                make_provenance("desk", "declared"),
                Actor(type="application", id="tests"),
            )
            # the same man recorded twice, with and without the accent: the duplicate job proposes the pair
            create_party("person", {"family_name": "Kaouha", "given_names": "Régis", "birth_date": "1979-09-09"},
                         make_provenance("desk", "declared"), Actor(type="application", id="tests"))
            create_party("person", {"family_name": "Kaouha", "given_names": "Regis", "birth_date": "1979-09-09",
                                    "email": "regis@example.nc"},
                         make_provenance("desk", "declared"), Actor(type="application", id="caf"))
            duplicates.detect_pending()
            db.session.commit()
        server.start(app)
        try:
            yield server
        finally:
            server.stop()
            with app.app_context():
                db.engine.dispose()


@pytest.fixture
def browser(tmp_path):
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for argument in ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                     "--disable-background-networking", "--disable-component-update", "--disable-sync",
                     "--no-first-run", f"--user-data-dir={tmp_path / 'chromium'}"):
        options.add_argument(argument)
    driver = webdriver.Chrome(service=Service(CHROMEDRIVER), options=options)
    driver.set_page_load_timeout(30)
    driver.implicitly_wait(5)
    try:
        yield driver
    finally:
        driver.quit()
        shutil.rmtree(tmp_path / "chromium", ignore_errors=True)


def _wait_for_title(browser, title):
    """A click returns before the next page may have loaded: wait for it (10 s at most)."""
    from selenium.common.exceptions import TimeoutException
    from selenium.webdriver.support import expected_conditions
    from selenium.webdriver.support.ui import WebDriverWait

    try:
        WebDriverWait(browser, 10).until(expected_conditions.title_is(title))
    except TimeoutException:
        pytest.fail(f"expected the page {title!r}, got {browser.title!r}: {browser.page_source[-1500:]}")


def _click_and_wait(browser, element, title):
    """Click, then wait for the next page to replace this one: when both have the same
    title, waiting for the title alone returns at once and the old page's elements go stale."""
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import WebDriverWait

    page = browser.find_element(By.TAG_NAME, "html")
    element.click()
    WebDriverWait(browser, 10).until(_replaced(page))
    _wait_for_title(browser, title)


def _replaced(page):
    """Selenium's ``staleness_of``, also taking for what it is the error Chrome raises
    instead of a stale element while the old page is torn down ("Node with given id does
    not belong to the document", SeleniumHQ/selenium#15401; seen here in CI)."""
    from selenium.common.exceptions import StaleElementReferenceException, WebDriverException

    def is_replaced(_browser):
        try:
            page.is_enabled()
        except StaleElementReferenceException:
            return True
        except WebDriverException as error:
            if "does not belong to the document" in str(error):
                return True
            raise
        return False

    return is_replaced


def _sign_in(hub, browser, login):
    from selenium.webdriver.common.by import By

    browser.get(hub.url + "/")
    _wait_for_title(browser, "Connexion · GRU")
    browser.find_element(By.ID, "identifiant").send_keys(login)
    browser.find_element(By.ID, "mot_de_passe").send_keys(PASSWORD)
    browser.find_element(By.CSS_SELECTOR, "form.card button[type=submit]").click()
    _wait_for_title(browser, "Rechercher une personne · GRU")


def _open_wamytan(hub, browser):
    """Sign in as Marie, search "wamytan" and open the record found."""
    from selenium.webdriver.common.by import By

    _sign_in(hub, browser, "marie")
    browser.find_element(By.ID, "nom").send_keys("wamytan")
    _click_and_wait(browser, browser.find_element(By.CSS_SELECTOR, "form.card button[type=submit]"),
                    "Rechercher une personne · GRU")
    browser.find_element(By.LINK_TEXT, "Wamytan").click()
    _wait_for_title(browser, "Fiche Wamytan · GRU")


def test_agent_finds_a_person_and_changes_the_address(hub, browser, tmp_path):
    from selenium.webdriver.common.by import By

    _open_wamytan(hub, browser)
    assert "12 rue Jean Jaurès" in browser.find_element(By.ID, "golden").text
    browser.find_element(By.LINK_TEXT, "Modifier la fiche").click()
    _wait_for_title(browser, "Modifier la fiche · GRU")
    lines = browser.find_element(By.ID, "adresse_lignes")
    lines.clear()
    lines.send_keys("3 rue de Sébastopol")
    browser.find_element(By.ID, "adresse_commune").clear()
    browser.find_element(By.ID, "enregistrer").click()

    _wait_for_title(browser, "Fiche enregistrée · GRU")
    assert "Adresse postale : mis à jour" in browser.find_element(By.ID, "outcomes").text
    assert "3 rue de Sébastopol" in browser.find_element(By.ID, "attr-postal_address").text
    screenshot = tmp_path / "fiche-enregistree.png"
    assert browser.save_screenshot(str(screenshot)) and screenshot.stat().st_size > 0
    assert browser.title == "Fiche enregistrée · GRU"


def test_agent_records_a_consent_with_the_citizen_present(hub, browser):
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import Select

    _open_wamytan(hub, browser)

    # withdrawing what was never given: refused, said in French, the form still there
    Select(browser.find_element(By.ID, "etat")).select_by_value("retire")
    browser.find_element(By.ID, "version_texte").send_keys("sms-2026-01")
    _click_and_wait(browser, browser.find_element(By.ID, "enregistrer-consentement"), "Fiche Wamytan · GRU")
    assert "rien à retirer" in browser.find_element(By.ID, "consent-error").text

    Select(browser.find_element(By.ID, "traitement")).select_by_visible_text("Rappels de rendez-vous par SMS")
    Select(browser.find_element(By.ID, "etat")).select_by_value("donne")
    browser.find_element(By.ID, "version_texte").send_keys("sms-2026-01")
    _click_and_wait(browser, browser.find_element(By.ID, "enregistrer-consentement"), "Fiche Wamytan · GRU")
    assert "Consentement donné : Rappels de rendez-vous par SMS." in browser.find_element(By.ID, "consent-notice").text
    row = browser.find_element(By.ID, "consent-sms_reminders").text
    assert "Rappels de rendez-vous par SMS" in row and "donné" in row and "Accueil (guichet)" in row
    assert "sms-2026-01" in row
    assert not browser.find_elements(By.ID, "consent-error")


def test_supervisor_reviews_merges_and_undoes_a_duplicate(hub, browser):
    from selenium.webdriver.common.by import By

    _sign_in(hub, browser, "paul")
    browser.find_element(By.LINK_TEXT, "Doublons").click()
    _wait_for_title(browser, "Doublons à examiner · GRU")
    assert "Kaouha Régis" in browser.find_element(By.ID, "duplicates").text
    browser.find_element(By.CSS_SELECTOR, "#duplicates tbody a").click()
    _wait_for_title(browser, "Doublon possible · GRU")
    assert "1979-09-09" in browser.find_element(By.ID, "attr-birth_date").text
    _click_and_wait(browser, browser.find_element(By.XPATH, "//button[text()='Prendre en revue']"),
                    "Doublon possible · GRU")
    assert "en revue par agent:paul" in browser.find_element(By.CLASS_NAME, "detail").text
    browser.find_element(By.XPATH, "//button[text()='Fusionner']").click()

    _wait_for_title(browser, "Fusion · GRU")
    assert "valeurs" in browser.find_element(By.ID, "moved").text
    _click_and_wait(browser, browser.find_element(By.XPATH, "//button[text()='Annuler la fusion']"), "Fusion · GRU")
    assert "Fusion annulée" in browser.find_element(By.ID, "unmerged").text
    assert not browser.find_elements(By.XPATH, "//button[text()='Annuler la fusion']")
    browser.find_element(By.CSS_SELECTOR, "#merge-parties li:nth-child(2) a").click()
    _wait_for_title(browser, "Fiche Kaouha · GRU")
    assert "statut active" in browser.find_element(By.CLASS_NAME, "detail").text
