/** The analytics client's public surface. */
export { createAnalytics, LOG_PREFIX, type Analytics, type AnalyticsEnv, type AnalyticsOptions, type WaitUntil } from './client';
export {
  SCHEMA_VERSION, outcomeForStatus,
  type AnalyticsEvent, type MatchType, type Outcome, type Performance, type QueryEvent, type QueryInput,
  type ResponseEvent, type ResponseInput, type Tokens,
} from './events';
export { untracked, withAnalytics, type Tracker, type TrackedHandler, type WithAnalyticsOptions } from './with-analytics';
