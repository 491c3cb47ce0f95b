/** The reproduction lab: a real embedded Tomcat 10 app driven into a chosen failure. */
export {
  checkJdk,
  DEFAULT_STATE_DIR,
  LabError,
  labDir,
  labDown,
  labLoad,
  labStatus,
  labUp,
  readState,
} from "./manager.js";
export { isAlive, openFdCount, probeHealth } from "./process.js";
export type {
  HealthProbe,
  LabLoadOptions,
  LabMode,
  LabPortOptions,
  LabState,
  LabStatus,
  LabUpOptions,
  LoadResult,
  StopReason,
} from "./schema.js";
export { LAB_MODES } from "./schema.js";
