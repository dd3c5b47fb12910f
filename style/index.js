import './base.css';
import './datasets.css';
import './drift.css';
