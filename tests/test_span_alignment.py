from catalog.span_alignment import find_value_span


def _text(title, span):
  start, end = span
  return title.encode('utf-8')[start:end].decode('utf-8')


def test_value_at_title_start_and_end():
  title = 'Trailwise Running Shoes Black'
  assert find_value_span(title, 'Trailwise') == (0, 9)
  assert _text(title, find_value_span(title, 'Black')) == 'Black'
  assert find_value_span(title, 'Black')[1] == len(title)


def test_whole_word_match_beats_earlier_substring():
  title = 'Women Men Shoes'
  assert find_value_span(title, 'Men') == (6, 9)


def test_repeated_value_takes_first_whole_word():
  title = 'Red Jacket Red Lining'
  assert find_value_span(title, 'Red') == (0, 3)


def test_value_inside_a_word_when_no_whole_word():
  title = "Men's Jacket"   # AE-pub gold "Men" for "Men's": apostrophe is a word boundary
  assert _text(title, find_value_span(title, 'Men')) == 'Men'
  title = 'Womenswear Coat'
  assert _text(title, find_value_span(title, 'Women')) == 'Women'


def test_punctuation_in_value():
  title = 'Wallet Case PU-Leather (Vegan) Cover'
  assert _text(title, find_value_span(title, 'PU-Leather')) == 'PU-Leather'
  assert _text(title, find_value_span(title, '(Vegan)')) == '(Vegan)'


def test_unicode_offsets_are_bytes():
  title = 'Café Crème Mug Céramique'
  span = find_value_span(title, 'Céramique')
  assert span == (len('Café Crème Mug '.encode()), len(title.encode()))
  assert _text(title, span) == 'Céramique'


def test_case_and_whitespace_fallback_returns_title_text():
  title = 'Water Bottle ROSE  GOLD 750ml'
  assert _text(title, find_value_span(title, 'rose gold')) == 'ROSE  GOLD'


def test_exact_case_preferred_over_case_insensitive():
  title = 'black Case Black Strap'
  assert _text(title, find_value_span(title, 'Black')) == 'Black'
  assert find_value_span(title, 'Black')[0] == 11


def test_value_not_found_and_null():
  assert find_value_span('Trailwise Running Shoes', 'Leather') is None
  assert find_value_span('Trailwise Running Shoes', 'NULL') is None
  assert find_value_span('Trailwise Running Shoes', '') is None
  assert find_value_span('Trailwise Running Shoes', '   ') is None
