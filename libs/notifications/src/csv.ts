// The CSV writer lives with the domain rules now (the audit export uses it too).
export { csvCell, csvRecord } from '@app/domain';
