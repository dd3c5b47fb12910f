import './base.css';
import './experiments.css';
import './datasets.css';
import './drift.css';
