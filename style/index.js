import './base.css';
import './experiments.css';
import './datasets.css';
import './drift.css';
import './pipelines.css';
import './models.css';
import './deployments.css';
import './timeline.css';
