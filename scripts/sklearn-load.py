"""Load a `soda export --format sklearn` JSON into scikit-learn and score a LIBSVM file.

Usage: python3 scripts/sklearn-load.py MODEL.sklearn.json DATA.svm
Prints one line per example: the predicted label and P(y = +1). This is the snippet the README shows.
"""
import json
import sys

import numpy as np
from sklearn.datasets import load_svmlight_file
from sklearn.linear_model import LogisticRegression

m = json.load(open(sys.argv[1]))
clf = LogisticRegression(fit_intercept=m["params"]["fit_intercept"])
clf.coef_ = np.array(m["coef_"])
clf.intercept_ = np.array(m["intercept_"])
clf.classes_ = np.array(m["classes_"])
clf.n_features_in_ = m["n_features_in_"]

X, _ = load_svmlight_file(sys.argv[2], n_features=m["n_features_in_"])
labels = clf.predict(X)
probs = clf.predict_proba(X)[:, list(clf.classes_).index(1)]
sys.stdout.write("".join(f"{int(l)} {p!r}\n" for l, p in zip(labels, probs)))
