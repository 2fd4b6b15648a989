import type { ModelFile } from './model-file';

/*
 * Exports of a model for other tools. Both write the raw-space weights of a version-2 model file, so
 * the other tool scores raw features exactly as `soda predict` does: z = Σ_j coef_j x_j + intercept,
 * P(y = +1) = σ(z), label +1 when z > 0 (ties −1, as both tools break them).
 */

/** Shortest text that parses back to the same double. */
const num = (v: number): string => String(v);

/**
 * LIBLINEAR's model file (as saved by `train` and read by `predict` / load_model): labels "1 -1" so
 * the decision value is z and `predict -b 1` gives σ(z) for +1. An intercept is LIBLINEAR's bias
 * feature: `bias 1` and its weight as the (n+1)-th line; without one, `bias -1`. solver_type L1R_LR
 * (ℓ1-regularised logistic regression) is what the model is; predict only reads it to allow -b 1.
 */
export function liblinearOf(model: ModelFile): string {
  const w = new Float64Array(model.n);
  for (let t = 0; t < model.idx.length; t++) w[model.idx[t]] = model.val[t];
  const lines = [
    'solver_type L1R_LR',
    'nr_class 2',
    'label 1 -1',
    `nr_feature ${model.n}`,
    `bias ${model.fitIntercept ? 1 : -1}`,
    'w',
  ];
  for (let j = 0; j < model.n; j++) lines.push(`${num(w[j])} `);
  if (model.fitIntercept) lines.push(`${num(model.intercept)} `);
  return lines.join('\n') + '\n';
}

/**
 * scikit-learn's LogisticRegression fitted attributes as plain JSON: coef_ (1 × n), intercept_ (1),
 * classes_ [−1, 1] (column order of predict_proba), n_features_in_, and feature_names_in_ when the
 * model has names. Setting them on a LogisticRegression() makes predict_proba equal soda predict.
 */
export function sklearnOf(model: ModelFile): Record<string, unknown> {
  const coef = new Array<number>(model.n).fill(0);
  for (let t = 0; t < model.idx.length; t++) coef[model.idx[t]] = model.val[t];
  return {
    format: 'sklearn-logistic-regression',
    coef_: [coef],
    intercept_: [model.intercept],
    classes_: [-1, 1],
    n_features_in_: model.n,
    ...(model.featureNames ? { feature_names_in_: model.featureNames } : {}),
    // What LogisticRegression would be constructed with; λ1, λ2 apply to max-abs-scaled features.
    params: { fit_intercept: model.fitIntercept },
    soda: { lambda1: model.lambda1, lambda2: model.lambda2, dataName: model.dataName },
  };
}
