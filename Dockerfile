# Image of the dicom-import CLI; docker-compose.yml runs it as `migrate`, `worker` and `watch`.

FROM node:20-bookworm-slim AS build
WORKDIR /app
COPY package.json package-lock.json ./
# The `prepare` script would build before the sources are copied; the build runs below instead.
RUN npm ci --ignore-scripts
COPY tsconfig.json tsconfig.build.json ./
COPY src ./src
COPY workflows ./workflows
COPY activities ./activities
RUN npm run build

FROM node:20-bookworm-slim
ENV NODE_ENV=production
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --omit=dev --ignore-scripts && npm cache clean --force
COPY --from=build /app/dist ./dist
# The migrate command reads the SQL migrations from here.
COPY drizzle ./drizzle
RUN mkdir -p /data /media /deid && chown node:node /data /media /deid
USER node
ENTRYPOINT ["node", "dist/src/cli/main.js"]
CMD ["--help"]
