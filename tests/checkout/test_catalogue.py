"""The bank catalogue: real banks with their NAPAS BINs, and the ways to pay they open."""

from __future__ import annotations

from pathlib import Path
from unittest.mock import MagicMock

import pytest

from bank_adapters.base import Adapter
from paygov.banks.catalogue import (
    DEFAULT_PATH,
    Catalogue,
    bank_rows,
    fold,
    load_catalogue,
    read_catalogue,
    ways_to_pay,
)
from paygov.kit.settings import ConfigurationError
from paygov.providers.live import LiveProvider

KNOWN_BINS = {
    "VCB": "970436",
    "ICB": "970415",
    "BIDV": "970418",
    "VBA": "970405",
    "TCB": "970407",
    "MB": "970422",
    "ACB": "970416",
    "VPB": "970432",
    "TPB": "970423",
    "STB": "970403",
}

GOOD_BANK = """
[[bank]]
name = "Ngân hàng TMCP Ngoại thương Việt Nam"
short_name = "Vietcombank"
code = "VCB"
bin = "970436"
vnpay = true
direct = []
color = "#006B3F"
"""


def provider(code: str, protocol: str, *, max_amount: int = 500_000_000) -> LiveProvider:
    return LiveProvider(
        code=code,
        protocol=protocol,
        name=code,
        mode="test",
        enabled=True,
        max_amount=max_amount,
        adapter=MagicMock(spec=Adapter),
    )


@pytest.fixture
def catalogue() -> Catalogue:
    return load_catalogue()


class TestCatalogueFile:
    def test_lists_at_least_45_banks_with_unique_codes_and_bins(self, catalogue: Catalogue) -> None:
        codes = [bank.code for bank in catalogue.banks]
        bins = [bank.bin for bank in catalogue.banks]

        assert len(catalogue.banks) >= 45
        assert len(set(codes)) == len(codes)
        assert len(set(bins)) == len(bins)

    def test_the_big_banks_carry_their_napas_bins(self, catalogue: Catalogue) -> None:
        assert {code: catalogue.by_code[code].bin for code in KNOWN_BINS} == KNOWN_BINS

    def test_only_vietcombank_and_bidv_have_direct_apis(self, catalogue: Catalogue) -> None:
        direct = {bank.code: bank.direct for bank in catalogue.banks if bank.direct}

        assert direct == {
            "VCB": ("vcb-direct", "vcb-direct-sandbox"),
            "BIDV": ("bidv-direct", "bidv-direct-sandbox"),
        }

    def test_names_are_vietnamese_with_diacritics(self, catalogue: Catalogue) -> None:
        assert catalogue.by_code["VBA"].name == (
            "Ngân hàng Nông nghiệp và Phát triển Nông thôn Việt Nam"
        )
        assert all(bank.name != fold(bank.name) for bank in catalogue.banks)

    def test_rows_for_the_cli_list_every_bank(self, catalogue: Catalogue) -> None:
        rows = bank_rows()

        assert len(rows) == len(catalogue.banks)
        assert rows[0] == {
            "code": "VCB",
            "bin": "970436",
            "short_name": "Vietcombank",
            "name": "Ngân hàng TMCP Ngoại thương Việt Nam",
            "vnpay": "yes",
            "direct": "vcb-direct, vcb-direct-sandbox",
        }

    def test_default_path_is_the_repositorys_config(self) -> None:
        assert DEFAULT_PATH.parts[-2:] == ("config", "banks.toml")


class TestMalformedCatalogue:
    @pytest.mark.parametrize(
        ("change", "expected"),
        [
            (('bin = "970436"', 'bin = "97043"'), "bin must be 6 digits"),
            (('code = "VCB"', 'code = "vc:b"'), "code must be"),
            (('color = "#006B3F"', 'color = "green"'), "color must be #RRGGBB"),
            (("vnpay = true", 'vnpay = "yes"'), "'vnpay' is missing or not a bool"),
            (("direct = []", 'direct = "vcb-direct"'), "direct must be a list of strings"),
            (("direct = []", 'direct = []\nlogo = "x.png"'), "unknown key 'logo'"),
        ],
    )
    def test_names_the_bank_and_the_problem_in_one_line(
        self, tmp_path: Path, change: tuple[str, str], expected: str
    ) -> None:
        path = tmp_path / "banks.toml"
        path.write_text(GOOD_BANK.replace(*change), encoding="utf-8")

        with pytest.raises(ConfigurationError) as raised:
            read_catalogue(path)

        assert expected in str(raised.value)
        assert "bank #1" in str(raised.value)
        assert "\n" not in str(raised.value)

    def test_a_bin_listed_twice_is_refused(self, tmp_path: Path) -> None:
        path = tmp_path / "banks.toml"
        path.write_text(GOOD_BANK + GOOD_BANK.replace('"VCB"', '"VCB2"'), encoding="utf-8")

        with pytest.raises(ConfigurationError, match="bin '970436' is listed twice"):
            read_catalogue(path)

    def test_not_toml_or_missing_is_a_configuration_error(self, tmp_path: Path) -> None:
        broken = tmp_path / "broken.toml"
        broken.write_text("[[bank]\nname = ", encoding="utf-8")

        with pytest.raises(ConfigurationError):
            read_catalogue(broken)
        with pytest.raises(ConfigurationError):
            read_catalogue(tmp_path / "missing.toml")


class TestWaysToPay:
    def test_vietqr_first_then_banks_with_direct_before_vnpay(self, catalogue: Catalogue) -> None:
        offered = [
            provider("vnpay-sandbox", "vnpay"),
            provider("vcb-direct-sandbox", "signed_json"),
            provider("vietqr-sandbox", "vietqr"),
        ]

        ways = ways_to_pay(catalogue, offered)

        assert [route.method for route in ways.vietqr] == ["vietqr:vietqr-sandbox"]
        vcb = next(entry for entry in ways.banks if entry.bank.code == "VCB")
        assert [route.method for route in vcb.routes] == [
            "bank:VCB:vcb-direct-sandbox",
            "bank:VCB:vnpay-sandbox",
        ]
        assert [route.kind for route in vcb.routes] == ["direct", "vnpay"]
        assert {route.bank_code for route in vcb.routes} == {"VCB"}

    def test_a_bank_with_no_offered_route_is_not_shown(self, catalogue: Catalogue) -> None:
        ways = ways_to_pay(catalogue, [provider("bidv-direct-sandbox", "signed_json")])

        assert [entry.bank.code for entry in ways.banks] == ["BIDV"]
        assert ways.vietqr == ()

    def test_vnpay_reaches_only_the_banks_it_offers(self, catalogue: Catalogue) -> None:
        ways = ways_to_pay(catalogue, [provider("vnpay-sandbox", "vnpay")])
        shown = {entry.bank.code for entry in ways.banks}

        assert shown == {bank.code for bank in catalogue.banks if bank.vnpay}
        assert "HSBC" not in shown

    def test_popular_banks_first_in_file_order_then_the_rest_alphabetically(
        self, catalogue: Catalogue
    ) -> None:
        ways = ways_to_pay(catalogue, [provider("vnpay-sandbox", "vnpay")])
        others = [fold(entry.bank.short_name) for entry in ways.others]

        assert [entry.bank.code for entry in ways.popular][:4] == ["VCB", "ICB", "BIDV", "VBA"]
        assert others == sorted(others)
        assert ways.banks == ways.popular + ways.others

    def test_a_direct_code_of_another_protocol_is_not_a_direct_route(
        self, catalogue: Catalogue
    ) -> None:
        ways = ways_to_pay(catalogue, [provider("vcb-direct-sandbox", "vnpay")])

        vcb = next(entry for entry in ways.banks if entry.bank.code == "VCB")
        assert [route.kind for route in vcb.routes] == ["vnpay"]

    def test_route_finds_only_what_is_offered(self, catalogue: Catalogue) -> None:
        ways = ways_to_pay(catalogue, [provider("vnpay-sandbox", "vnpay")])

        assert ways.route("bank:TCB:vnpay-sandbox") is not None
        assert ways.route("bank:HSBC:vnpay-sandbox") is None
        assert ways.route("vietqr:vnpay-sandbox") is None
        assert ways.route("bank:TCB:vcb-direct-sandbox") is None

    def test_search_text_ignores_diacritics_and_knows_former_names(
        self, catalogue: Catalogue
    ) -> None:
        assert "dong a" in catalogue.by_code["DOB"].search_text
        assert "lienvietpostbank" in catalogue.by_code["LPB"].search_text
        assert fold("Ngân hàng Đầu tư") == "ngan hang dau tu"
