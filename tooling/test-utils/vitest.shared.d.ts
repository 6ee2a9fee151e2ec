export declare const sharedTestConfig: {
  setupFiles: string[];
  include: string[];
  testTimeout: number;
  hookTimeout: number;
  pool: "forks";
};
