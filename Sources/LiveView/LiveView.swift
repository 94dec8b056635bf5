import FleetView
import Hummingbird

/// The live view on the web (docs/live-view.md). (Skeleton: the pages land with the live-view work.)
public enum LiveView {}
