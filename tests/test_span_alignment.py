from catalog.span_alignment import find_value_span, without_value


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


def test_an_end_that_is_not_a_word_character_needs_no_boundary():
  # '36"' ends with its inch mark: in '36"W' it is whole, and the first whole occurrence
  # is the first one; 'HP' in 'HPE' is still not whole.
  title = 'Work Table 36"W x 30"D, 36" high'
  assert find_value_span(title, '36"') == (11, 14)
  assert find_value_span('HPE server by HP', 'HP') == (14, 16)


def test_a_lower_to_upper_case_change_is_a_word_boundary():
  # Scraped descriptions glue fields together; an all-capitals word is not split.
  title = 'Blackboard eraser COLOR: BlackALTERNATE ITEM #: 12'
  assert find_value_span(title, 'Black') == (25, 30)   # not the start of 'Blackboard'
  assert find_value_span('BLACKBOARD and black', 'black') == (15, 20)


def test_the_value_removed_text_states_the_value_in_none_of_its_forms():
  # A "no value" example must not keep the value where the whole-word rule missed it.
  text = 'Duke 36" Work Table 36"W x 30"D. COLOR: BlackALTERNATE ITEM: Black'
  assert without_value(text, '36"') == 'Duke Work Table W x 30"D. COLOR: BlackALTERNATE ITEM: Black'
  assert 'black' not in without_value(text, 'Black').lower()
  assert without_value('Jacket with hood', 'Red') is None


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
