import Hardware

extension LineBias {
    /// The configuration's bias as the GPIO layer names it.
    public init(_ bias: GPIOInputConfiguration.Bias) {
        switch bias {
        case .asIs: self = .asIs
        case .disabled: self = .disabled
        case .pullUp: self = .pullUp
        case .pullDown: self = .pullDown
        }
    }
}
