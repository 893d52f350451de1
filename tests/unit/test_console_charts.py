"""The Cruscotto's SVG charts (gateway/ui/charts.py): drawn from the data, readable without
the picture, and safe with any label."""

from __future__ import annotations

import xml.etree.ElementTree as ET

from gateway.ui import charts

SVG = "{http://www.w3.org/2000/svg}"


def parsed(markup) -> ET.Element:
    return ET.fromstring(str(markup))


def texts(root: ET.Element) -> list[str]:
    return [element.text for element in root.iter(f"{SVG}text")]


def test_a_bar_chart_has_a_title_an_aria_label_and_each_value_as_text():
    root = parsed(
        charts.bar_chart(
            [("f24", 0.75), ("dm_uniemens", 0.5)], "Indicatore per oggetto", fmt=charts.percent, maximum=1
        )
    )
    assert root.get("role") == "img"
    assert root.get("aria-label") == "Indicatore per oggetto"
    assert root.find(f"{SVG}title").text == "Indicatore per oggetto"
    assert {"f24", "75,0%", "dm_uniemens", "50,0%"} <= set(texts(root))


def test_bars_are_as_long_as_their_share_of_the_scale():
    root = parsed(charts.bar_chart([("a", 10), ("b", 5), ("c", 0)], "Conteggi"))
    widths = [float(rect.get("width")) for rect in root.iter(f"{SVG}rect")]
    assert widths[0] == 2 * widths[1] > 0
    assert widths[2] == 0


def test_a_missing_value_draws_no_bar_and_reads_not_available():
    root = parsed(charts.bar_chart([("a", None)], "Indicatore", fmt=charts.percent, maximum=1))
    assert float(next(root.iter(f"{SVG}rect")).get("width")) == 0
    assert "n.d." in texts(root)


def test_bars_take_the_colour_of_their_grade():
    root = parsed(
        charts.bar_chart(
            [("buono", 0.95), ("critico", 0.4)], "Soglia", maximum=1, colour=lambda v: charts.grade(v).colour
        )
    )
    fills = [rect.get("fill") for rect in root.iter(f"{SVG}rect")]
    assert fills == [charts.GOOD, charts.BAD]


def test_grades_have_words_as_well_as_colours():
    assert charts.grade(0.9).label == "Buono"
    assert charts.grade(0.75).label == "Attenzione"
    assert charts.grade(0.1).label == "Critico"
    assert charts.grade(None).label == "Non calcolabile"


def test_a_line_chart_joins_the_points_in_order_with_their_values():
    root = parsed(
        charts.line_chart([("2026-01", 0.5), ("2026-02", 1.0)], "Andamento", fmt=charts.percent, maximum=1)
    )
    line = next(root.iter(f"{SVG}polyline"))
    (x1, y1), (x2, y2) = (tuple(map(float, p.split(","))) for p in line.get("points").split())
    assert x1 < x2 and y2 < y1  # higher value, higher on the page
    assert {"2026-01", "50,0%", "2026-02", "100,0%"} <= set(texts(root))


def test_a_missing_month_breaks_the_line():
    root = parsed(charts.line_chart([("1", 1), ("2", None), ("3", 2), ("4", 3)], "Andamento"))
    assert len(list(root.iter(f"{SVG}polyline"))) == 1  # only 3-4: a lone point draws no line
    assert len(list(root.iter(f"{SVG}circle"))) == 3


def test_labels_are_escaped():
    markup = str(charts.bar_chart([("<script>x</script>", 1)], 'Titolo "con" <b>'))
    assert "<script>" not in markup and "&lt;script&gt;" in markup
    parsed(markup)  # still well-formed


def test_no_data_says_so():
    assert "Nessun dato" in " ".join(texts(parsed(charts.bar_chart([], "Vuoto"))))
    assert "Nessun dato" in " ".join(texts(parsed(charts.line_chart([], "Vuoto"))))


def test_numbers_use_the_italian_decimal_comma():
    assert charts.percent(0.6667) == "66,7%"
    assert charts.number(4.5) == "4,5" and charts.number(3.0) == "3" and charts.number(None) == "n.d."
