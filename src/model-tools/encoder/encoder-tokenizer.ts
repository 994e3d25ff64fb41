/**
 * Tokenizers for the generated encoders, written here (no downloads): a BERT WordPiece
 * (lower-cased, [CLS] … [SEP], token type ids) and an XLM-R-style SentencePiece Unigram
 * (Metaspace "▁", <s> … </s>, no token types). The vocabularies are small but real: whole
 * words, sub-word pieces and every printable ASCII character, so any text tokenizes.
 */

export type EncoderVocab = 'wordpiece' | 'unigram';

export interface EncoderTokenizerFiles {
  tokenizerJson: Record<string, unknown>;
  tokenizerConfig: Record<string, unknown>;
  specialTokensMap: Record<string, unknown>;
  vocabSize: number;
  padTokenId: number;
}

/** Common English words: enough that ordinary sentences are mostly whole-word tokens. */
const WORDS = (
  'the of and to a in is it you that he was for on are with as i his they be at one have this from or had by ' +
  'not word but what some we can out other were all there when up use your how said an each she which do their ' +
  'time if will way about many then them write would like so these her long make thing see him two has look more ' +
  'day could go come did number sound no most people my over know water than call first who may down side been now ' +
  'find any new work part take get place made live where after back little only round man year came show every good ' +
  'me give our under name very through just form sentence great think say help low line differ turn cause much mean ' +
  'before move right boy old too same tell does set three want air well also play small end put home read hand port ' +
  'large spell add even land here must big high such follow act why ask men change went light kind off need house ' +
  'picture try us again animal point mother world near build self earth father head stand own page should country ' +
  'found answer school grow study still learn plant cover food sun four between state keep eye never last let thought ' +
  'city tree cross farm hard start might story saw far sea draw left late run while press close night real life few ' +
  'north open seem together next white children begin got walk example ease paper group always music those both mark ' +
  'often letter until mile river car feet care second book carry took science eat room friend began idea fish ' +
  'mountain stop once base hear horse cut sure watch color face wood main enough plain girl usual young ready above ' +
  'ever red list though feel talk bird soon body dog family direct pose leave song measure door product black short ' +
  'numeral class wind question happen complete ship area half rock order fire south problem piece told knew pass ' +
  'since top whole king space heard best hour better true during hundred five remember step early hold west ground ' +
  'interest reach fast verb sing listen six table travel less morning ten simple several vowel toward war lay against ' +
  'pattern slow center love person money serve appear road map rain rule govern pull cold notice voice unit power town ' +
  'fine certain fly fall lead cry dark machine note wait plan figure star box noun field rest correct able pound done ' +
  'beauty drive stood contain front teach week final gave green oh quick develop ocean warm free minute strong special ' +
  'mind behind clear tail produce fact street inch multiply nothing course stay wheel full force blue object decide ' +
  'surface deep moon island foot system busy test record boat common gold possible plane stead dry wonder laugh ' +
  'thousand ago ran check game shape equate hot miss brought heat snow tire bring yes distant fill east paint language ' +
  'among fox brown dog lazy jumps model server token search query document embedding vector text data cat cats'
).split(' ');

/** Sub-word endings (WordPiece "##" pieces, Unigram non-initial pieces). */
const SUFFIXES = [
  's',
  'es',
  'ed',
  'ing',
  'er',
  'ers',
  'est',
  'ly',
  'tion',
  'tions',
  'ment',
  'ness',
  'able',
  'ful',
  'less',
  'ity',
  'ous',
  'al',
  'ize',
];

const PRINTABLE = Array.from({ length: 95 }, (_, i) => String.fromCharCode(32 + i)).filter((c) => c !== ' ');

const special = (id: number, content: string) => ({
  id,
  content,
  single_word: false,
  lstrip: false,
  rstrip: false,
  normalized: false,
  special: true,
});

const unique = (xs: string[]): string[] => [...new Set(xs)];

export function makeEncoderTokenizer(kind: EncoderVocab, maxLength: number): EncoderTokenizerFiles {
  return kind === 'wordpiece' ? wordPiece(maxLength) : unigram(maxLength);
}

function wordPiece(maxLength: number): EncoderTokenizerFiles {
  const specials = ['[PAD]', '[UNK]', '[CLS]', '[SEP]', '[MASK]'];
  const lower = PRINTABLE.filter((c) => c === c.toLowerCase());
  const pieces = unique([
    ...specials,
    ...lower,
    ...lower.filter((c) => /[a-z0-9]/.test(c)).map((c) => `##${c}`),
    ...WORDS,
    ...SUFFIXES.map((s) => `##${s}`),
  ]);
  const vocab = Object.fromEntries(pieces.map((p, i) => [p, i]));
  const id = (t: string) => vocab[t];
  const tokenizerJson = {
    version: '1.0',
    truncation: null,
    padding: null,
    added_tokens: specials.map((s) => special(id(s), s)),
    normalizer: {
      type: 'BertNormalizer',
      clean_text: true,
      handle_chinese_chars: true,
      strip_accents: null,
      lowercase: true,
    },
    pre_tokenizer: { type: 'BertPreTokenizer' },
    post_processor: {
      type: 'TemplateProcessing',
      single: [
        { SpecialToken: { id: '[CLS]', type_id: 0 } },
        { Sequence: { id: 'A', type_id: 0 } },
        { SpecialToken: { id: '[SEP]', type_id: 0 } },
      ],
      pair: [
        { SpecialToken: { id: '[CLS]', type_id: 0 } },
        { Sequence: { id: 'A', type_id: 0 } },
        { SpecialToken: { id: '[SEP]', type_id: 0 } },
        { Sequence: { id: 'B', type_id: 1 } },
        { SpecialToken: { id: '[SEP]', type_id: 1 } },
      ],
      special_tokens: Object.fromEntries(['[CLS]', '[SEP]'].map((s) => [s, { id: s, ids: [id(s)], tokens: [s] }])),
    },
    decoder: { type: 'WordPiece', prefix: '##', cleanup: true },
    model: {
      type: 'WordPiece',
      unk_token: '[UNK]',
      continuing_subword_prefix: '##',
      max_input_chars_per_word: 100,
      vocab,
    },
  };
  const tokenizerConfig = {
    added_tokens_decoder: Object.fromEntries(
      specials.map((s) => [String(id(s)), { ...special(id(s), s), id: undefined }]),
    ),
    clean_up_tokenization_spaces: true,
    cls_token: '[CLS]',
    do_lower_case: true,
    mask_token: '[MASK]',
    model_max_length: maxLength,
    pad_token: '[PAD]',
    sep_token: '[SEP]',
    strip_accents: null,
    tokenize_chinese_chars: true,
    tokenizer_class: 'BertTokenizer',
    unk_token: '[UNK]',
  };
  const specialTokensMap = {
    cls_token: '[CLS]',
    mask_token: '[MASK]',
    pad_token: '[PAD]',
    sep_token: '[SEP]',
    unk_token: '[UNK]',
  };
  return { tokenizerJson, tokenizerConfig, specialTokensMap, vocabSize: pieces.length, padTokenId: id('[PAD]') };
}

function unigram(maxLength: number): EncoderTokenizerFiles {
  const specials = ['<s>', '<pad>', '</s>', '<unk>'];
  // Scores are log-probabilities: whole words beat spelling them out, longer words first.
  const scored: Array<[string, number]> = [
    ...specials.map((s): [string, number] => [s, 0]),
    ['▁', -4],
    ...unique(WORDS).map((w): [string, number] => [`▁${w}`, -6 - w.length / 100]),
    ...SUFFIXES.map((s): [string, number] => [s, -7]),
    ...PRINTABLE.map((c): [string, number] => [`▁${c}`, -9]),
    ...PRINTABLE.map((c): [string, number] => [c, -10]),
  ];
  const seen = new Set<string>();
  const vocab = scored.filter(([p]) => !seen.has(p) && seen.add(p));
  const id = (t: string) => vocab.findIndex(([p]) => p === t);
  const tokenizerJson = {
    version: '1.0',
    truncation: null,
    padding: null,
    added_tokens: specials.map((s) => special(id(s), s)),
    normalizer: {
      type: 'Sequence',
      normalizers: [{ type: 'NFKC' }, { type: 'Replace', pattern: { Regex: ' {2,}' }, content: ' ' }],
    },
    pre_tokenizer: { type: 'Metaspace', replacement: '▁', prepend_scheme: 'always', split: true },
    post_processor: {
      type: 'TemplateProcessing',
      single: [
        { SpecialToken: { id: '<s>', type_id: 0 } },
        { Sequence: { id: 'A', type_id: 0 } },
        { SpecialToken: { id: '</s>', type_id: 0 } },
      ],
      pair: [
        { SpecialToken: { id: '<s>', type_id: 0 } },
        { Sequence: { id: 'A', type_id: 0 } },
        { SpecialToken: { id: '</s>', type_id: 0 } },
        { SpecialToken: { id: '</s>', type_id: 0 } },
        { Sequence: { id: 'B', type_id: 0 } },
        { SpecialToken: { id: '</s>', type_id: 0 } },
      ],
      special_tokens: Object.fromEntries(['<s>', '</s>'].map((s) => [s, { id: s, ids: [id(s)], tokens: [s] }])),
    },
    decoder: { type: 'Metaspace', replacement: '▁', prepend_scheme: 'always', split: true },
    model: { type: 'Unigram', unk_id: id('<unk>'), vocab, byte_fallback: false },
  };
  const tokenizerConfig = {
    added_tokens_decoder: Object.fromEntries(
      specials.map((s) => [String(id(s)), { ...special(id(s), s), id: undefined }]),
    ),
    bos_token: '<s>',
    clean_up_tokenization_spaces: true,
    cls_token: '<s>',
    eos_token: '</s>',
    mask_token: '<unk>',
    model_max_length: maxLength,
    pad_token: '<pad>',
    sep_token: '</s>',
    tokenizer_class: 'XLMRobertaTokenizer',
    unk_token: '<unk>',
  };
  const specialTokensMap = {
    bos_token: '<s>',
    cls_token: '<s>',
    eos_token: '</s>',
    pad_token: '<pad>',
    sep_token: '</s>',
    unk_token: '<unk>',
  };
  return { tokenizerJson, tokenizerConfig, specialTokensMap, vocabSize: vocab.length, padTokenId: id('<pad>') };
}
